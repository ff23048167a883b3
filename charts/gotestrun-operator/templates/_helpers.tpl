{{/* The release's full name, at most 63 characters. */}}
{{- define "gotestrun-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gotestrun-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gotestrun-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "gotestrun-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "gotestrun-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gotestrun-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag, or repository@digest when a digest is given. */}}
{{- define "gotestrun-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "gotestrun-operator.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace -}}
{{- end -}}

{{/*
The rules the operator needs wherever it reconciles GoTestRuns. Each verb is there
because the code calls it; README.md has the table (resource, verb, why).
*/}}
{{- define "gotestrun-operator.runRules" -}}
- apiGroups: [gotestrun.dev]
  resources: [gotestruns]
  verbs: [list, watch, update]
- apiGroups: [gotestrun.dev]
  resources: [gotestruns/status]
  verbs: [update]
- apiGroups: [gotestrun.dev]
  resources: [gotestruns/finalizers]
  verbs: [update]
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch, create, delete]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, create, update]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- if .Values.rbac.tekton }}
- apiGroups: [gotestrun.dev]
  resources: [gotestruns]
  verbs: [get, create, delete]
- apiGroups: [tekton.dev]
  resources: [customruns]
  verbs: [list, watch]
- apiGroups: [tekton.dev]
  resources: [customruns/status]
  verbs: [update]
- apiGroups: [tekton.dev]
  resources: [customruns/finalizers]
  verbs: [update]
{{- end }}
{{- if .Values.rbac.argo }}
- apiGroups: [argoproj.io]
  resources: [workflows]
  verbs: [list, watch]
- apiGroups: [gotestrun.dev]
  resources: [gotestruns]
  verbs: [delete]
{{- end }}
{{- end -}}
