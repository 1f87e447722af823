// A PersistentVolumeClaim bound to a PersistentVolume made for it (static binding: the local cluster
// has no provisioner, so a claim binds only to a volume that names it in its claimRef).

export interface StaticVolume {
  /** The PersistentVolume's name. */
  pv: string;
  namespace: string;
  claim: string;
  storageClassName: string;
  hostPath: string;
  /** Sets persistentVolumeReclaimPolicy: Retain explicitly. */
  retain?: boolean;
}

/** The PersistentVolume (1Gi, ReadWriteOnce) reserved for the claim. */
export function volumeFor(v: StaticVolume) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: v.pv },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: v.storageClassName,
      ...(v.retain ? { persistentVolumeReclaimPolicy: 'Retain' } : {}),
      hostPath: { path: v.hostPath },
      claimRef: { namespace: v.namespace, name: v.claim },
    },
  };
}

/** The claim, naming its volume. */
export function claimOn(v: StaticVolume) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: v.claim, namespace: v.namespace },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: v.storageClassName,
      volumeName: v.pv,
      resources: { requests: { storage: '1Gi' } },
    },
  };
}
