{{- define "agent-vault.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "agent-vault.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "agent-vault.labels" -}}
{{ include "agent-vault.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "agent-vault.validate" -}}
{{- if and (eq .Values.database.mode "sqlite") (gt (int .Values.replicaCount) 1) -}}
{{- fail "replicaCount > 1 needs database.mode=postgres: one SQLite file serves one replica" -}}
{{- end -}}
{{- if and (eq .Values.database.mode "postgres") (not .Values.database.postgres.urlSecret.name) -}}
{{- fail "database.mode=postgres needs database.postgres.urlSecret.name: a Secret holding the PostgreSQL URL" -}}
{{- end -}}
{{- end -}}
