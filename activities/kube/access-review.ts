// What a service account may do, asked of the API server (SubjectAccessReview), as the guide's
// `kubectl auth can-i --as=system:serviceaccount:<ns>:<sa>` does. Shared by securityAudit and
// incidentResponse's evidence.
import { AuthorizationV1Api } from '@kubernetes/client-node';
import { kubeCall } from '../errors.ts';
import type { KubeClients } from './client.ts';

export interface AccessQuestion {
  verb: string;
  group: string;
  resource: string;
  /** Asked cluster-wide; otherwise in the service account's namespace. */
  clusterWide?: boolean;
}

/** One answer per question, in order: is the service account (with its groups) allowed? */
export function serviceAccountMay(
  kube: KubeClients,
  namespace: string,
  sa: string,
  questions: readonly AccessQuestion[],
): Promise<boolean[]> {
  const authz = kube.config.makeApiClient(AuthorizationV1Api);
  const user = `system:serviceaccount:${namespace}:${sa}`;
  const groups = ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'];
  return Promise.all(
    questions.map(async (q) => {
      const review = await kubeCall(`SubjectAccessReview ${q.verb} ${q.resource}`, () =>
        authz.createSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user,
              groups,
              resourceAttributes: {
                verb: q.verb,
                group: q.group,
                resource: q.resource,
                ...(q.clusterWide ? {} : { namespace }),
              },
            },
          },
        }),
      );
      return review.status?.allowed === true;
    }),
  );
}
