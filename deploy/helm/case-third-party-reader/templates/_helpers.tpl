{{/*
Names, labels and the checks every template relies on.
*/}}

{{- define "ctpr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<flavor> unless overridden, e.g. case-third-party-reader-jira ("_" in a
flavor becomes "-": Kubernetes names allow no underscore). */}}
{{- define "ctpr.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $base := .Release.Name -}}
{{- if not (contains (include "ctpr.name" .) $base) -}}
{{- $base = printf "%s-%s" $base (include "ctpr.name" .) -}}
{{- end -}}
{{- $flavor := .Values.flavor | replace "_" "-" -}}
{{- if not (hasSuffix (printf "-%s" $flavor) $base) -}}
{{- $base = printf "%s-%s" $base $flavor -}}
{{- end -}}
{{- $base | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ctpr.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ctpr.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ctpr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ctpr.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Values.flavor }}
{{- end -}}

{{- define "ctpr.imageTag" -}}
{{- default (printf "%s-%s" .Chart.AppVersion .Values.flavor) .Values.image.tag -}}
{{- end -}}

{{- define "ctpr.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repo = printf "%s/%s" (trimSuffix "/" .Values.image.registry) .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (include "ctpr.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* Unified service tagging (Datadog) plus the standard Kubernetes labels. */}}
{{- define "ctpr.labels" -}}
{{ include "ctpr.selectorLabels" . }}
app.kubernetes.io/version: {{ include "ctpr.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: case-management
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
tags.datadoghq.com/service: case-third-party-reader
tags.datadoghq.com/env: {{ .Values.env | quote }}
tags.datadoghq.com/version: {{ include "ctpr.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
team: case-management
{{- end -}}

{{/*
Checks of combinations the schema cannot express. Included by every template, so an
invalid release fails at `helm template` / `helm install` time.
*/}}
{{- define "ctpr.validate" -}}
{{- $flavorFile := printf "values/flavors/%s.yaml" .Values.flavor -}}
{{- if not .Values.flavor -}}
{{- fail (printf "flavor is empty: add -f values/flavors/<flavor>.yaml (one of: %s)" (include "ctpr.flavors" .)) -}}
{{- else if not (.Files.Get $flavorFile) -}}
{{- fail (printf "flavor %q has no values file %s in the chart: add it (it sets flavor, kafka.topic and the flavor's config section) or use one of: %s" .Values.flavor $flavorFile (include "ctpr.flavors" .)) -}}
{{- end -}}
{{- if not .Values.kafka.topic -}}
{{- fail "kafka.topic is empty: the flavor file sets it (values/flavors/<flavor>.yaml)" -}}
{{- end -}}
{{- $drain := int .Values.shutdown.drainSeconds -}}
{{- $margin := int .Values.shutdown.commitMarginSeconds -}}
{{- $grace := int .Values.shutdown.terminationGracePeriodSeconds -}}
{{- $preStop := int .Values.shutdown.preStopSleepSeconds -}}
{{- if lt $grace (add $drain $margin $preStop) -}}
{{- fail (printf "shutdown.terminationGracePeriodSeconds (%d) must be >= preStopSleepSeconds + drainSeconds + commitMarginSeconds (%d): the pod would be killed before its offsets are committed" $grace (add $drain $margin $preStop)) -}}
{{- end -}}
{{- if and (gt $preStop 0) (not (semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version)) -}}
{{- fail (printf "shutdown.preStopSleepSeconds needs Kubernetes 1.30+ (the cluster is %s): set it to 0" .Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- $partitions := int .Values.kafka.partitions -}}
{{- if and (gt $partitions 0) (gt (int .Values.replicaCount) $partitions) -}}
{{- fail (printf "replicaCount (%d) exceeds kafka.partitions (%d): extra consumers would sit idle" (int .Values.replicaCount) $partitions) -}}
{{- end -}}
{{- if .Values.autoscaling.enabled -}}
{{- if le $partitions 0 -}}
{{- fail "autoscaling.enabled needs kafka.partitions (the topic's partition count) to bound maxReplicaCount" -}}
{{- end -}}
{{- if gt (int .Values.autoscaling.maxReplicaCount) $partitions -}}
{{- fail (printf "autoscaling.maxReplicaCount (%d) exceeds kafka.partitions (%d): replicas must never exceed the partition count" (int .Values.autoscaling.maxReplicaCount) $partitions) -}}
{{- end -}}
{{- if gt (int .Values.autoscaling.minReplicaCount) (int .Values.autoscaling.maxReplicaCount) -}}
{{- fail (printf "autoscaling.minReplicaCount (%d) exceeds autoscaling.maxReplicaCount (%d)" (int .Values.autoscaling.minReplicaCount) (int .Values.autoscaling.maxReplicaCount)) -}}
{{- end -}}
{{- if not .Values.kafka.brokers -}}
{{- fail "autoscaling.enabled needs kafka.brokers: KEDA reads the consumer lag from the brokers" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The flavors the chart accepts: one per values/flavors/<flavor>.yaml, comma separated. */}}
{{- define "ctpr.flavors" -}}
{{- $names := list -}}
{{- range $path, $_ := .Files.Glob "values/flavors/*.yaml" -}}
{{- $names = append $names (base $path | trimSuffix ".yaml") -}}
{{- end -}}
{{- $names | sortAlpha | join ", " -}}
{{- end -}}

{{/* tracing.log_level: logLevel, plus `<flavor>=<integrationLogLevel>` when that is set. */}}
{{- define "ctpr.logLevel" -}}
{{- if .Values.integrationLogLevel -}}
{{- printf "%s,%s=%s" .Values.logLevel .Values.flavor .Values.integrationLogLevel -}}
{{- else -}}
{{- .Values.logLevel -}}
{{- end -}}
{{- end -}}

{{/* skip_messages: a consul-template lookup when a Consul key is configured. */}}
{{- define "ctpr.skipMessages" -}}
{{- if and .Values.consulTemplate.enabled .Values.consulTemplate.skipMessagesKey -}}
{{- printf "{{ keyOrDefault %q \"\" }}" .Values.consulTemplate.skipMessagesKey -}}
{{- else -}}
{{- .Values.kafka.skipMessages -}}
{{- end -}}
{{- end -}}

{{/*
The ini (keys of crates/reader-app/src/config.rs: `section.key`), as sections of
key = value. Generated keys first, then extraConfig merged over them (extraConfig wins key
by key). Empty values are left out so the reader's defaults apply, except skip_messages.
*/}}
{{- define "ctpr.iniSections" -}}
{{- $sections := dict
  "kafka" (dict
    "brokers" .Values.kafka.brokers
    "topic" .Values.kafka.topic
    "group_id" .Values.kafka.groupId
    "auto_offset_reset" .Values.kafka.autoOffsetReset
    "dead_letter" (toString .Values.kafka.deadLetter)
    "dead_letter_topic" .Values.kafka.deadLetterTopic
    "shutdown_grace_ms" (toString (mul .Values.shutdown.drainSeconds 1000)))
  "dd.kafka.consumer" (dict "skip_messages" (include "ctpr.skipMessages" .))
  "case_api" (dict
    "endpoint" .Values.caseApi.endpoint
    "ca_file" .Values.caseApi.caFile
    "client_cert_file" .Values.caseApi.clientCertFile
    "client_key_file" .Values.caseApi.clientKeyFile
    "tls_domain" .Values.caseApi.tlsDomain
    "deadline_ms" (toString .Values.caseApi.deadlineMillis))
  "metrics" (dict "prometheus" (toString .Values.metrics.prometheus.enabled))
  "tracing" (dict "otlp" (toString .Values.tracing.otlp) "log_level" (include "ctpr.logLevel" .))
  "health" (dict "port" (toString .Values.health.port))
-}}
{{- $merged := mergeOverwrite $sections (deepCopy .Values.extraConfig) -}}
{{- range $section, $keys := $merged }}
[{{ $section }}]
{{- range $key, $value := $keys }}
{{- if or (ne (toString $value) "") (eq $key "skip_messages") }}
{{ $key }} = {{ $value }}
{{- end }}
{{- end }}
{{ end -}}
{{- end -}}
