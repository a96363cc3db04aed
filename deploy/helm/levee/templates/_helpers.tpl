{{- define "levee.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name; the node and gateway names add a suffix, so it leaves room for it. */}}
{{- define "levee.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" }}
{{- else if contains (include "levee.name" .) .Release.Name }}
{{- .Release.Name | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "levee.name" .) | trunc 55 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "levee.nodeName" -}}
{{- printf "%s-node" (include "levee.fullname" .) }}
{{- end }}

{{- define "levee.gatewayName" -}}
{{- printf "%s-gateway" (include "levee.fullname" .) }}
{{- end }}

{{- define "levee.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "levee.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: levee
{{- end }}

{{/* Selector labels; the caller passes the component, "node" or "gateway". */}}
{{- define "levee.selectorLabels" -}}
app.kubernetes.io/name: {{ include "levee.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "levee.image" -}}
{{- printf "%s:%s" .Values.image.repository (toString (default .Chart.AppVersion .Values.image.tag)) }}
{{- end }}

{{/*
The node's grace period: the preStop sleep, the drain while still admitting, then up to 30 s
(+5 s slack) for queued and running requests and up to 10 s for the node to close.
*/}}
{{- define "levee.nodeGracePeriod" -}}
{{- if .Values.node.terminationGracePeriodSeconds }}
{{- .Values.node.terminationGracePeriodSeconds }}
{{- else }}
{{- add .Values.node.preStopSleepSeconds .Values.node.drainSeconds 45 }}
{{- end }}
{{- end }}

{{/* The gateway's grace period: the preStop sleep, then up to 25 s for the gateway to close. */}}
{{- define "levee.gatewayGracePeriod" -}}
{{- if .Values.gateway.terminationGracePeriodSeconds }}
{{- .Values.gateway.terminationGracePeriodSeconds }}
{{- else }}
{{- add .Values.gateway.preStopSleepSeconds .Values.gateway.drainSeconds 30 }}
{{- end }}
{{- end }}

{{/* The gateway's --nodes value for the chosen discovery. */}}
{{- define "levee.gatewayNodes" -}}
{{- if eq .Values.gateway.discovery "k8s" }}
{{- printf "k8s:%s/%s:8000" .Release.Namespace (include "levee.nodeName" .) }}
{{- else if eq .Values.gateway.discovery "dns" }}
{{- printf "dns:%s.%s.svc.%s:8000" (include "levee.nodeName" .) .Release.Namespace .Values.clusterDomain }}
{{- else }}
{{- fail (printf "gateway.discovery: %q (expected: k8s or dns)" .Values.gateway.discovery) }}
{{- end }}
{{- end }}

{{/* The pod-level settings both Deployments share. */}}
{{- define "levee.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}
