#!/usr/bin/env bash
# The operations guide's backup script (backup-platform.sh), as the benchmark's baseline: the same
# kubectl get -o yaml and helm list calls. Parameterised only where the bench must point it at its
# cluster and directory: BACKUP_DIR, NAMESPACE, KUBECONFIG, KUBECTL, HELM.
set -euo pipefail
BACKUP_DIR=${BACKUP_DIR:-/backup/platform/$(date +%Y%m%d-%H%M%S)}
NAMESPACE=${NAMESPACE:-orchestrator}
KUBECTL=${KUBECTL:-kubectl}
HELM=${HELM:-helm}
mkdir -p "$BACKUP_DIR"

# Backup CRDs
"$KUBECTL" get crd taskruns.orchestrator.io -o yaml > "$BACKUP_DIR/taskrun-crd.yaml"
# Backup ConfigMaps
"$KUBECTL" get configmap taskrun-controller-config -n "$NAMESPACE" -o yaml > "$BACKUP_DIR/controller-config.yaml"
# Backup Secrets ("encrypted": they are not)
"$KUBECTL" get secret orchestrator-secrets -n "$NAMESPACE" -o yaml > "$BACKUP_DIR/secrets.yaml"
# Backup Helm releases
"$HELM" list -n "$NAMESPACE" -o yaml --kubeconfig "$KUBECONFIG" > "$BACKUP_DIR/helm-releases.yaml"
# Backup TaskRuns
"$KUBECTL" get taskruns -n "$NAMESPACE" -o yaml > "$BACKUP_DIR/taskruns.yaml"

echo "Backup completed: $BACKUP_DIR"
