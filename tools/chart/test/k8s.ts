/** The few Kubernetes shapes the tests read from rendered objects. */
import type { KubeObject } from './chart.ts';

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef?: { readonly name: string; readonly key: string } };
}

export interface GrpcProbe {
  readonly grpc?: { readonly port: number; readonly service?: string };
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly ports?: readonly { readonly name: string; readonly containerPort: number }[];
  readonly securityContext?: {
    readonly allowPrivilegeEscalation?: boolean;
    readonly readOnlyRootFilesystem?: boolean;
    readonly runAsNonRoot?: boolean;
    readonly capabilities?: { readonly drop?: readonly string[] };
  };
  readonly resources?: {
    readonly requests?: Record<string, string>;
    readonly limits?: Record<string, string>;
  };
  readonly readinessProbe?: GrpcProbe;
  readonly livenessProbe?: GrpcProbe;
  readonly startupProbe?: GrpcProbe;
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string }[];
}

export interface Volume {
  readonly name: string;
  readonly emptyDir?: { readonly sizeLimit?: string };
  readonly secret?: {
    readonly secretName: string;
    readonly items?: readonly { readonly key: string; readonly path: string }[];
  };
}

export interface PodSpec {
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly securityContext?: {
    readonly runAsNonRoot?: boolean;
    readonly runAsUser?: number;
    readonly seccompProfile?: { readonly type: string };
  };
  readonly containers: readonly Container[];
  readonly volumes?: readonly Volume[];
}

export function podSpecOf(object: KubeObject): PodSpec {
  if (object.kind === 'Pod') return object['spec'] as PodSpec;
  return (object['spec'] as { template: { spec: PodSpec } }).template.spec;
}

export function componentOf(object: KubeObject): string {
  const name = object.metadata.labels?.['app.kubernetes.io/name'];
  if (!name) throw new Error(`${object.kind}/${object.metadata.name} has no app.kubernetes.io/name label`);
  return name;
}
