{{- define "runbook-worker.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "runbook-worker.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "runbook-worker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "runbook-worker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "runbook-worker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "runbook-worker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "runbook-worker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "runbook-worker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The rules of one section of permissions.yaml (apiGroups, resources, verbs; `calls` is documentation). */}}
{{- define "runbook-worker.rules" -}}
{{- range . }}
- apiGroups: {{ toJson .apiGroups }}
  resources: {{ toJson .resources }}
  verbs: {{ toJson .verbs }}
{{- end }}
{{- end }}

{{- define "runbook-worker.permissions" -}}
{{- .Files.Get "permissions.yaml" }}
{{- end }}

{{- define "runbook-worker.backupClaim" -}}
{{- default (printf "%s-backups" (include "runbook-worker.fullname" .)) .Values.backup.persistence.existingClaim }}
{{- end }}
