// The load balancer's listeners: HTTPS with the certificate and HTTP redirecting to it, or HTTP alone; converged on rerun.
import {
  CreateListenerCommand,
  DeleteListenerCommand,
  DescribeListenersCommand,
  ModifyListenerCommand,
  type Action,
  type Listener,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsDeps } from '../aws-clients.js';
import { stackTags, tagsCli, type LoadBalancedSettings, type StackSettings } from '../stack.js';
import type { StackState } from '../state.js';
import { required, type Step } from '../step.js';

/**
 * AWS's recommended policy for new HTTPS listeners (Elastic Load Balancing user guide, "Security policies"): TLS 1.3 with
 * hybrid post-quantum key exchange, and TLS 1.2 with forward-secret AES-GCM ciphers only for older clients.
 */
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09';
export const HTTPS_PORT = 443;
export const HTTP_PORT = 80;

interface ListenerSpec {
  Port: number;
  Protocol: 'HTTP' | 'HTTPS';
  SslPolicy?: string;
  Certificates?: { CertificateArn: string }[];
  DefaultActions: Action[];
}

export function desiredListeners(targetGroupArn: string, certificateArn: string | undefined): ListenerSpec[] {
  const forward: Action[] = [{ Type: 'forward', TargetGroupArn: targetGroupArn }];
  if (!certificateArn) return [{ Port: HTTP_PORT, Protocol: 'HTTP', DefaultActions: forward }];
  return [
    {
      Port: HTTPS_PORT,
      Protocol: 'HTTPS',
      SslPolicy: TLS_POLICY,
      Certificates: [{ CertificateArn: certificateArn }],
      DefaultActions: forward,
    },
    {
      Port: HTTP_PORT,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: String(HTTPS_PORT), StatusCode: 'HTTP_301' } }],
    },
  ];
}

/** What a listener does, in the terms this tool sets, so an existing listener can be compared with the wanted one. */
function listenerBehaviour(listener: Listener | ListenerSpec): string {
  return JSON.stringify([
    listener.Protocol,
    listener.SslPolicy ?? null,
    listener.Certificates?.[0]?.CertificateArn ?? null,
    (listener.DefaultActions ?? []).map((action) => [
      action.Type,
      action.TargetGroupArn ?? null,
      action.RedirectConfig ? [action.RedirectConfig.Protocol, action.RedirectConfig.Port, action.RedirectConfig.StatusCode] : null,
    ]),
  ]);
}

export function listenersUpStep(settings: StackSettings, lb: LoadBalancedSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const forward = 'Type=forward,TargetGroupArn="$TG_ARN"';
  return {
    title: lb.certificateArn
      ? `Listen on HTTPS ${HTTPS_PORT} with ${TLS_POLICY}, and redirect HTTP ${HTTP_PORT} to it (301)`
      : `Listen on HTTP ${HTTP_PORT} only (no --certificate-arn)`,
    why: lb.certificateArn
      ? 'TLS ends at the load balancer with the ACM certificate (ACM renews it); the policy allows TLS 1.3 and TLS 1.2 with forward-secret ciphers only. Plain HTTP only answers with a redirect, so the session and CSRF cookies, which the app marks Secure behind HTTPS, never travel in clear text. A listener on another port is deleted.'
      : 'Without a certificate the demo is plain HTTP: traffic, and the session and CSRF cookies, cross the network in clear text, and the cookies cannot be marked Secure. Give --certificate-arn for anything beyond a demo. A listener on another port is deleted.',
    cli: lb.certificateArn
      ? [
          `aws elbv2 create-listener --region ${region} --load-balancer-arn "$LB_ARN" --protocol HTTPS --port ${HTTPS_PORT} --ssl-policy ${TLS_POLICY} --certificates CertificateArn=${lb.certificateArn} --default-actions ${forward} --tags ${tagsCli(settings)}`,
          `aws elbv2 create-listener --region ${region} --load-balancer-arn "$LB_ARN" --protocol HTTP --port ${HTTP_PORT} --default-actions 'Type=redirect,RedirectConfig={Protocol=HTTPS,Port=${HTTPS_PORT},StatusCode=HTTP_301}' --tags ${tagsCli(settings)}`,
          `# On a rerun: aws elbv2 modify-listener for a listener that differs, aws elbv2 delete-listener for one on another port.`,
        ]
      : [
          `aws elbv2 create-listener --region ${region} --load-balancer-arn "$LB_ARN" --protocol HTTP --port ${HTTP_PORT} --default-actions ${forward} --tags ${tagsCli(settings)}`,
          `# On a rerun: aws elbv2 modify-listener for a listener that differs, aws elbv2 delete-listener for one on another port (443 of an earlier run with a certificate).`,
        ],
    run: async ({ aws, log }, state) => {
      const loadBalancerArn = required(state.loadBalancer, 'the load balancer').arn;
      const wanted = desiredListeners(required(state.targetGroupArn, 'the target group ARN'), lb.certificateArn);
      const { Listeners = [] } = await aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }));
      for (const listener of Listeners) {
        if (wanted.some((spec) => spec.Port === listener.Port)) continue;
        await aws.elbv2.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
        log(`Deleted the listener on port ${listener.Port}`);
      }
      for (const spec of wanted) {
        const existing = Listeners.find((listener) => listener.Port === spec.Port);
        if (!existing) {
          await aws.elbv2.send(new CreateListenerCommand({ LoadBalancerArn: loadBalancerArn, ...spec, Tags: stackTags(settings) }));
          log(`Created the ${spec.Protocol} listener on port ${spec.Port}`);
        } else if (listenerBehaviour(existing) !== listenerBehaviour(spec)) {
          await aws.elbv2.send(new ModifyListenerCommand({ ListenerArn: existing.ListenerArn, ...spec }));
          log(`Changed the listener on port ${spec.Port} to ${spec.Protocol}`);
        } else {
          log(`The ${spec.Protocol} listener on port ${spec.Port} is as wanted`);
        }
      }
    },
  };
}
