{{/* Names are `<release>-<component>` (truncated to 63), so two releases never collide. */}}
{{- define "anfang.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "anfang.chartLabel" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "anfang.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "anfang.labels" -}}
{{ include "anfang.selectorLabels" . }}
app.kubernetes.io/part-of: anfang
app.kubernetes.io/component: {{ .component | default "service" }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "anfang.chartLabel" .root }}
{{- end -}}

{{/* The component's values: componentDefaults overridden key by key by components.<name>. */}}
{{- define "anfang.component" -}}
{{- $defaults := deepCopy .root.Values.componentDefaults -}}
{{- $own := deepCopy (index .root.Values.components .name) -}}
{{- toYaml (mergeOverwrite $defaults $own) -}}
{{- end -}}

{{- define "anfang.image" -}}
{{- $img := .root.Values.image -}}
{{- $repo := .c.image.repository | default (printf "%s/%s%s" $img.registry $img.repositoryPrefix .name) -}}
{{- $tag := .c.image.tag | default $img.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{- define "anfang.keysSecret" -}}
{{- .Values.keys.existingSecret | default (printf "%s-anfang-keys" .Release.Name) -}}
{{- end -}}

{{- define "anfang.require" -}}
{{- if not .value -}}
{{- fail (printf "incomplete configuration: %s is required (%s)" .key .why) -}}
{{- end -}}
{{- end -}}

{{/*
Fails on configuration the services would refuse at start, so a broken install never reaches
the cluster: every enabled component's infrastructure must be named.
*/}}
{{- define "anfang.validate" -}}
{{- $v := .Values -}}
{{- $needs := dict "database" false "bus" false "cache" false "objects" false -}}
{{- range $name, $entry := $v.components -}}
{{- if $entry.enabled -}}
{{- $c := include "anfang.component" (dict "root" $ "name" $name) | fromYaml -}}
{{- range $what, $used := $c.uses -}}
{{- if and $used (hasKey $needs $what) -}}{{- $_ := set $needs $what true -}}{{- end -}}
{{- end -}}
{{- if and $c.uses.database (not $v.postgres.existingSecret) (not ($c.database | default dict).existingSecret) -}}
{{- fail (printf "incomplete configuration: postgres.existingSecret (or components.%s.database.existingSecret) is required: %s has its own database" $name $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if or $needs.bus $v.topics.create -}}
{{- include "anfang.require" (dict "value" $v.kafka.brokers "key" "kafka.brokers" "why" "the services and the topic Job talk to Kafka") -}}
{{- end -}}
{{- if $v.kafka.sasl.mechanism -}}
{{- include "anfang.require" (dict "value" $v.kafka.sasl.existingSecret "key" "kafka.sasl.existingSecret" "why" "kafka.sasl.mechanism is set") -}}
{{- end -}}
{{- if $needs.cache -}}
{{- include "anfang.require" (dict "value" $v.redis.existingSecret "key" "redis.existingSecret" "why" "an enabled component caches in Redis") -}}
{{- end -}}
{{- if $needs.objects -}}
{{- include "anfang.require" (dict "value" $v.s3.endpoint "key" "s3.endpoint" "why" "an enabled component stores objects") -}}
{{- include "anfang.require" (dict "value" $v.s3.bucket "key" "s3.bucket" "why" "an enabled component stores objects") -}}
{{- include "anfang.require" (dict "value" $v.s3.existingSecret "key" "s3.existingSecret" "why" "an enabled component stores objects") -}}
{{- end -}}
{{- if eq $v.telemetry.tracesExporter "otlp" -}}
{{- include "anfang.require" (dict "value" $v.telemetry.otlpEndpoint "key" "telemetry.otlpEndpoint" "why" "telemetry.tracesExporter is otlp") -}}
{{- end -}}
{{- end -}}

{{/* The environment shared by every workload that talks to Kafka (services and the topic Job). */}}
{{- define "anfang.kafkaEnv" -}}
- name: BUS_KIND
  value: kafka
- name: KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
- name: KAFKA_SSL
  value: {{ .Values.kafka.ssl | quote }}
{{- with .Values.kafka.sasl }}
{{- if .mechanism }}
- name: KAFKA_SASL_MECHANISM
  value: {{ .mechanism | quote }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .usernameKey }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .passwordKey }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "anfang.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "anfang.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}
