{{/* Names, labels and the few values derived in one place for every template. */}}

{{- define "kubescribe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubescribe.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kubescribe.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubescribe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubescribe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kubescribe.labels" -}}
helm.sh/chart: {{ include "kubescribe.chart" . }}
{{ include "kubescribe.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubescribe
{{- end }}

{{- define "kubescribe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubescribe.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kubescribe.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The Service the apiserver calls; the serving certificate is issued for its DNS names. */}}
{{- define "kubescribe.webhookServiceName" -}}
{{- include "kubescribe.fullname" . }}
{{- end }}

{{- define "kubescribe.webhookDnsNames" -}}
{{- $svc := include "kubescribe.webhookServiceName" . }}
{{- $ns := .Release.Namespace }}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson }}
{{- end }}

{{- define "kubescribe.tlsSecretName" -}}
{{- printf "%s-webhook-tls" (include "kubescribe.fullname" .) }}
{{- end }}

{{- define "kubescribe.gitSecretName" -}}
{{- default (printf "%s-git" (include "kubescribe.fullname" .)) .Values.git.credentials.existingSecret }}
{{- end }}

{{/* Credentials are mounted when an existing Secret is named or the chart creates one. */}}
{{- define "kubescribe.gitCredentials" -}}
{{- if or .Values.git.credentials.existingSecret .Values.git.credentials.username .Values.git.credentials.password }}true{{ end }}
{{- end }}

{{- define "kubescribe.hashKeySecretName" -}}
{{- default (printf "%s-hash-key" (include "kubescribe.fullname" .)) .Values.sanitize.secretHashKey.existingSecret }}
{{- end }}

{{/* Cluster-scoped objects (webhook configuration, ClusterRole): the namespace keeps two releases apart. */}}
{{- define "kubescribe.clusterScopedName" -}}
{{- printf "%s-%s" (include "kubescribe.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* watch.resources as kubescribe's settings name them: group/version/resource (v1/configmaps). */}}
{{- define "kubescribe.resourceStrings" -}}
{{- $out := list }}
{{- range .Values.watch.resources }}
{{- if .group }}
{{- $out = append $out (printf "%s/%s/%s" .group .version .resource) }}
{{- else }}
{{- $out = append $out (printf "%s/%s" .version .resource) }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/* Mount points inside the container (one projected volume at /etc/kubescribe). */}}
{{- define "kubescribe.paths" -}}
{"settings": "/etc/kubescribe/settings.yaml", "tlsCert": "/etc/kubescribe/tls/tls.crt", "tlsKey": "/etc/kubescribe/tls/tls.key", "gitUsername": "/etc/kubescribe/git/username", "gitPassword": "/etc/kubescribe/git/password", "gitSshIdentity": "/etc/kubescribe/git-ssh/identity", "gitSshKnownHosts": "/etc/kubescribe/git-ssh/known_hosts", "gitSshPassphrase": "/etc/kubescribe/git-ssh/passphrase", "gitSigningKey": "/etc/kubescribe/git-signing/key", "gitSigningPassphrase": "/etc/kubescribe/git-signing/passphrase", "hashKey": "/etc/kubescribe/hash-key/key", "peerSecret": "/etc/kubescribe/peer/secret", "tlsCa": "/etc/kubescribe/tls/ca.crt", "dataDir": "/var/lib/kubescribe"}
{{- end }}

{{/* The settings file (docs/configuration.md), rendered from values, then extraSettings over it. */}}
{{- define "kubescribe.settings" -}}
{{- $p := include "kubescribe.paths" . | fromJson }}
{{- $v := .Values }}
{{- if not (or $v.git.url $v.customResources.enabled) }}
{{- fail "nothing to record: set git.url (a bootstrap repository) or customResources.enabled" }}
{{- end }}
{{- $settings := dict
  "dataDir" $p.dataDir
  "ownNamespace" .Release.Namespace
  "logLevel" $v.logLevel
  "committer" (dict "name" $v.committer.name "email" $v.committer.email)
  "customResources" (dict "enabled" $v.customResources.enabled "discoveryIntervalMs" $v.customResources.discoveryIntervalMs)
  "watch" (dict "resources" (include "kubescribe.resourceStrings" . | fromJsonArray) "namespaces" (dict "include" $v.watch.namespaces.include "exclude" $v.watch.namespaces.exclude) "backoffMs" $v.watch.backoffMs "maxBackoffMs" $v.watch.maxBackoffMs)
  "webhook" (dict "host" "0.0.0.0" "port" $v.webhook.port "tlsCertFile" $p.tlsCert "tlsKeyFile" $p.tlsKey "maxBodyBytes" $v.webhook.maxBodyBytes "configurationName" (include "kubescribe.clusterScopedName" .) "shutdownDelayMs" (mul $v.webhook.shutdownDelaySeconds 1000) "maxRequestsPerConnection" $v.webhook.maxRequestsPerConnection "ownThread" $v.webhook.ownThread)
  "server" (dict "host" "0.0.0.0" "port" $v.server.port)
  "correlation" (dict "ttlMs" $v.correlation.ttlMs "maxEntries" $v.correlation.maxEntries)
  "queue" (dict "maxPending" $v.queue.maxPending "maxPendingBytes" (int64 $v.queue.maxPendingBytes))
  "memory" (dict "optimizeForSize" $v.memory.optimizeForSize)
  "sanitize" (dict "excludeFields" $v.sanitize.excludeFields "secretHashKeyFile" $p.hashKey)
  "leaderElection" (dict "enabled" true "leaseName" (include "kubescribe.fullname" .) "perDestination" (and $v.leaderElection $v.leaderElection.perDestination | default false))
  "peers" (dict "secretFile" $p.peerSecret "service" (printf "%s-peers" (include "kubescribe.fullname" .)) "port" $v.webhook.port "caFile" $p.tlsCa)
}}
{{- if $v.cluster.name }}
{{- $cluster := dict "name" $v.cluster.name }}
{{- if ne $v.cluster.folder nil }}{{- $_ := set $cluster "folder" $v.cluster.folder }}{{- end }}
{{- $_ := set $settings "cluster" $cluster }}
{{- end }}
{{- with $v.git.proxy }}
{{- if .url }}
{{- $_ := set $settings "gitTransport" (dict "proxyUrl" .url "noProxy" (.noProxy | default list)) }}
{{- end }}
{{- end }}
{{- if $v.git.url }}
{{- $git := dict "url" $v.git.url "branch" $v.git.branch "baseFolder" $v.git.baseFolder "pushIntervalMs" $v.git.pushIntervalMs "pushMaxCommits" $v.git.pushMaxCommits "authorEmailTemplate" $v.git.authorEmailTemplate }}
{{- with $v.git.secretEncryption.ageRecipients }}
{{- $_ := set $git "secretEncryption" (dict "ageRecipients" .) }}
{{- end }}
{{- if include "kubescribe.gitCredentials" . }}
{{- $_ := set $git "usernameFile" $p.gitUsername }}
{{- $_ := set $git "passwordFile" $p.gitPassword }}
{{- end }}
{{- if $v.git.ssh.existingSecret }}
{{- $ssh := dict "identityFile" $p.gitSshIdentity "knownHostsFile" $p.gitSshKnownHosts }}
{{- if $v.git.ssh.passphraseKey }}{{ $_ := set $ssh "passphraseFile" $p.gitSshPassphrase }}{{ end }}
{{- $_ := set $git "ssh" $ssh }}
{{- end }}
{{- if $v.git.signing.existingSecret }}
{{- $signing := dict "keyFile" $p.gitSigningKey }}
{{- if $v.git.signing.passphraseKey }}{{ $_ := set $signing "passphraseFile" $p.gitSigningPassphrase }}{{ end }}
{{- $_ := set $git "signing" $signing }}
{{- end }}
{{- $_ := set $settings "git" $git }}
{{- end }}
{{- toYaml (mustMergeOverwrite $settings (deepCopy $v.extraSettings)) }}
{{- end }}

{{/* The Secret with the replicas' shared peer secret (generated, kept across upgrades). */}}
{{- define "kubescribe.peerSecretName" -}}
{{- .Values.peers.existingSecret | default (printf "%s-peer" (include "kubescribe.fullname" .)) -}}
{{- end }}
