#!/bin/bash
# First-boot script for the S3 Photo Share demo on Amazon Linux 2023: installs Node, fetches the release with the
# instance role, and runs the app under systemd as an unprivileged user.
# infra/ renders the {{…}} placeholders; the values are names only: credentials come from the instance role via IMDSv2.
set -euo pipefail

readonly S3_BUCKET='{{Bucket}}'
readonly S3_PREFIX='{{Prefix}}'
readonly AWS_REGION='{{Region}}'
readonly RELEASE_PREFIX='{{ReleasePrefix}}'
readonly PORT='{{Port}}'

# Node 24 is the Active LTS and AL2023 packages it; AL2023 namespaces Node, so the unit calls node-24 directly
# and a later `alternatives` switch cannot change the runtime under the service.
readonly NODE_MAJOR='24'
readonly APP_USER='photoshare'
readonly APP_DIR='/opt/s3-photo-share'
readonly ENV_FILE='/etc/s3-photo-share/app.env'
readonly UNIT_FILE='/etc/systemd/system/s3-photo-share.service'

# Setup output goes to the journal and to the serial console, so `aws ec2 get-console-output` shows why a boot failed.
exec > >(tee >(logger --tag s3-photo-share-setup) > /dev/console) 2>&1

echo "Installing Node.js ${NODE_MAJOR}"
dnf install -y "nodejs${NODE_MAJOR}" "nodejs${NODE_MAJOR}-npm"

echo "Creating the service user ${APP_USER}"
if ! id -u "${APP_USER}" > /dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin "${APP_USER}"
fi

echo "Fetching the release from s3://${S3_BUCKET}/${RELEASE_PREFIX} with the instance role"
release_dir="$(mktemp -d)"
aws s3 cp "s3://${S3_BUCKET}/${RELEASE_PREFIX}app.tgz" "${release_dir}/app.tgz" --region "${AWS_REGION}" --only-show-errors
aws s3 cp "s3://${S3_BUCKET}/${RELEASE_PREFIX}package-lock.json" "${release_dir}/package-lock.json" --region "${AWS_REGION}" --only-show-errors

echo "Installing the release into ${APP_DIR}"
rm -rf "${APP_DIR}"
mkdir -p "${APP_DIR}"
tar -xzf "${release_dir}/app.tgz" -C "${APP_DIR}" --strip-components=1
# npm pack never includes package-lock.json, so infra uploads it beside the tarball; npm ci needs it.
cp "${release_dir}/package-lock.json" "${APP_DIR}/package-lock.json"
# sharp ships native binaries per platform, which is why dependencies are installed here and not on the operator's machine.
(cd "${APP_DIR}" && HOME=/root "npm-${NODE_MAJOR}" ci --omit=dev --no-audit --no-fund)
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
ENV
chmod 0644 "${ENV_FILE}"

echo "Installing ${UNIT_FILE}"
cat > "${UNIT_FILE}" <<UNIT
[Unit]
Description=S3 Photo Share
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=${APP_USER}
Group=${APP_USER}
WorkingDirectory=${APP_DIR}
EnvironmentFile=${ENV_FILE}
Environment=NODE_ENV=production
# glibc gives every thread its own memory arena; with libvips' threads that fragments memory (sharp's docs).
Environment=MALLOC_ARENA_MAX=2
ExecStart=/usr/bin/node-${NODE_MAJOR} dist/src/server.js
Restart=on-failure
RestartSec=5
StandardOutput=journal
StandardError=journal
SyslogIdentifier=s3-photo-share

# Port ${PORT} is privileged; this one capability lets the unprivileged user bind it and nothing more.
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
RestrictSUIDSGID=true
RestrictRealtime=true
RestrictNamespaces=true
LockPersonality=true
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
UMask=0077

[Install]
WantedBy=multi-user.target
UNIT

echo "Starting s3-photo-share.service"
systemctl daemon-reload
systemctl enable --now s3-photo-share.service
echo "Setup finished; follow the app with: journalctl -u s3-photo-share -f"
