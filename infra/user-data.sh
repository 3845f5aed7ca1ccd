#!/bin/bash
# First-boot script for the S3 Photo Share demo on Amazon Linux 2023: installs Node and the CloudWatch agent, fetches the
# release with the instance role, and runs the app under a hardened systemd unit as an unprivileged user.
# infra/ renders the {{…}} placeholders; the values are names only: credentials come from the instance role via IMDSv2.
# Every network step is retried with backoff until a deadline; a failure prints FAILED on the console, which `up` reads.
set -Eeuo pipefail

readonly S3_BUCKET='{{Bucket}}'
readonly S3_PREFIX='{{Prefix}}'
readonly AWS_REGION='{{Region}}'
readonly RELEASE_PREFIX='{{ReleasePrefix}}'
readonly LOG_GROUP='{{LogGroup}}'
readonly PORT='{{Port}}'
# Behind the load balancer: the name of the SSM parameter holding the CSRF signing key all instances share (the app reads
# the value with its role at start; the value is never here), and one trusted proxy hop. Empty and 0 on a single instance.
readonly CSRF_SECRET_PARAMETER='{{CsrfSecretParameter}}'
readonly TRUST_PROXY='{{TrustProxy}}'

# Node 24 is the Active LTS and AL2023 packages it; AL2023 namespaces Node, so the unit calls node-24 directly
# and a later `alternatives` switch cannot change the runtime under the service.
readonly NODE_MAJOR='24'
readonly APP_USER='photoshare'
readonly APP_DIR='/opt/s3-photo-share'
readonly ENV_FILE='/etc/s3-photo-share/app.env'
readonly UNIT_FILE='/etc/systemd/system/s3-photo-share.service'
readonly LOG_DIR='/var/log/s3-photo-share'
readonly AGENT_CONFIG='/opt/aws/amazon-cloudwatch-agent/etc/s3-photo-share.json'
# up waits 15 minutes for /readyz; giving up after 12 leaves it time to read the verdict from the console.
SETUP_DEADLINE=$(($(date +%s) + 720))
readonly SETUP_DEADLINE

# Setup output goes to the serial console (`aws ec2 get-console-output`) and to a file the CloudWatch agent ships (`npm run infra:logs`).
install -d -m 0755 "${LOG_DIR}"
exec > >(tee -a "${LOG_DIR}/setup.log" > /dev/console) 2>&1

trap 'echo "s3-photo-share-setup: FAILED (exit $?) at line ${LINENO}: ${BASH_COMMAND}"' ERR

# Runs a network step until it succeeds, doubling the pause up to a minute, and gives up at the setup deadline.
retry() {
  local delay=5
  until "$@"; do
    if (($(date +%s) + delay > SETUP_DEADLINE)); then
      echo "Giving up after the setup deadline: $*"
      return 1
    fi
    echo "Failed: $*; retrying in ${delay} s"
    sleep "${delay}"
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
  done
}

echo "Installing Node.js ${NODE_MAJOR}, the CloudWatch agent and logrotate"
retry dnf install -y "nodejs${NODE_MAJOR}" "nodejs${NODE_MAJOR}-npm" amazon-cloudwatch-agent logrotate

echo "Shipping ${LOG_DIR}/setup.log and app.log to the log group ${LOG_GROUP}"
cat > "${AGENT_CONFIG}" <<AGENT
{
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          { "file_path": "${LOG_DIR}/setup.log", "log_group_name": "${LOG_GROUP}", "log_stream_name": "{instance_id}/setup" },
          { "file_path": "${LOG_DIR}/app.log", "log_group_name": "${LOG_GROUP}", "log_stream_name": "{instance_id}/app" }
        ]
      }
    }
  }
}
AGENT
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "file:${AGENT_CONFIG}"

echo "Creating the service user ${APP_USER}"
if ! id -u "${APP_USER}" > /dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin "${APP_USER}"
fi

echo "Fetching the release from s3://${S3_BUCKET}/${RELEASE_PREFIX} with the instance role"
release_dir="$(mktemp -d)"
# A new role can take a while to reach the instance: AccessDenied and missing credentials are retried too.
retry aws s3 cp "s3://${S3_BUCKET}/${RELEASE_PREFIX}app.tgz" "${release_dir}/app.tgz" --region "${AWS_REGION}" --only-show-errors
retry aws s3 cp "s3://${S3_BUCKET}/${RELEASE_PREFIX}package-lock.json" "${release_dir}/package-lock.json" --region "${AWS_REGION}" --only-show-errors

echo "Installing the release into ${APP_DIR}"
rm -rf "${APP_DIR}"
mkdir -p "${APP_DIR}"
tar -xzf "${release_dir}/app.tgz" -C "${APP_DIR}" --strip-components=1
# npm pack never includes package-lock.json, so infra uploads it beside the tarball; npm ci needs it.
cp "${release_dir}/package-lock.json" "${APP_DIR}/package-lock.json"
# sharp ships native binaries per platform, which is why dependencies are installed here and not on the operator's machine.
install_dependencies() { (cd "${APP_DIR}" && HOME=/root "npm-${NODE_MAJOR}" ci --omit=dev --no-audit --no-fund); }
retry install_dependencies
# The service user can read the code but not change it.
chown -R root:root "${APP_DIR}"
chmod -R go-w "${APP_DIR}"
rm -rf "${release_dir}"

echo "Writing ${ENV_FILE}"
install -d -m 0755 "$(dirname "${ENV_FILE}")"
cat > "${ENV_FILE}" <<ENV
S3_BUCKET=${S3_BUCKET}
S3_PREFIX=${S3_PREFIX}
AWS_REGION=${AWS_REGION}
PORT=${PORT}
HOST=0.0.0.0
TRUST_PROXY=${TRUST_PROXY}
CSRF_SECRET_PARAMETER=${CSRF_SECRET_PARAMETER}
ENV
chmod 0644 "${ENV_FILE}"

echo "Rotating ${LOG_DIR}/app.log daily (the agent has shipped it by then)"
cat > /etc/logrotate.d/s3-photo-share <<'ROTATE'
/var/log/s3-photo-share/*.log {
  daily
  rotate 3
  compress
  missingok
  notifempty
  copytruncate
}
ROTATE

echo "Installing ${UNIT_FILE}"
# Quoted heredoc: the unit is written exactly as it reads here, which is also what the tests analyse.
cat > "${UNIT_FILE}" <<'UNIT'
[Unit]
Description=S3 Photo Share
Wants=network-online.target
After=network-online.target
# A crash is restarted, but at most 5 times in 5 minutes; then the unit stays failed for a person to look at.
StartLimitIntervalSec=300
StartLimitBurst=5

[Service]
Type=simple
User=photoshare
Group=photoshare
WorkingDirectory=/opt/s3-photo-share
EnvironmentFile=/etc/s3-photo-share/app.env
Environment=NODE_ENV=production
# glibc gives every thread its own memory arena; with libvips' threads that fragments memory (sharp's docs).
Environment=MALLOC_ARENA_MAX=2
# glibc's default mmap threshold (128 KiB), held fixed: glibc otherwise raises it to each large block freed (up to
# 32 MiB), so decoders' later blocks come from the heap, where freed ones stay resident between photos.
Environment=MALLOC_MMAP_THRESHOLD_=131072
ExecStart=/usr/bin/node-24 /opt/s3-photo-share/dist/src/server.js
Restart=on-failure
RestartSec=5
# Exit 78 (EX_CONFIG) is a configuration error: restarting cannot fix it.
RestartPreventExitStatus=78
# A file rather than the journal, so the CloudWatch agent can ship it (the agent reads files, not the journal).
StandardOutput=append:/var/log/s3-photo-share/app.log
StandardError=append:/var/log/s3-photo-share/app.log

# Port 80 is privileged; this one capability lets the unprivileged user bind it and nothing more.
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
DevicePolicy=closed
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
ProtectProc=invisible
ProcSubset=pid
RestrictSUIDSGID=true
RestrictRealtime=true
RestrictNamespaces=true
LockPersonality=true
RemoveIPC=true
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
UMask=0077

[Install]
WantedBy=multi-user.target
UNIT

echo "Starting s3-photo-share.service"
systemctl daemon-reload
systemctl enable --now s3-photo-share.service

# DONE is the readiness `up` reads from CloudWatch Logs when it cannot reach the app itself (outside --allow-cidr), so it
# is printed only once the app answers /readyz here, that is once it reaches the bucket with the instance role.
echo "Waiting until the app answers /readyz on this instance"
retry curl --fail --silent --output /dev/null --max-time 5 "http://127.0.0.1:${PORT}/readyz"
echo "s3-photo-share-setup: DONE; the app log is in ${LOG_DIR}/app.log and in CloudWatch Logs (${LOG_GROUP})"
