// The operator's updates, sent by name so that the CLI depends on no runbook's code: `decide` (a
// paused upgradePlatform, rollingNodeMaintenance or incidentResponse), rollingNodeMaintenance's
// `nodeDone`, and incidentResponse's `approve` (containment) and `recover`. The workflow's validator refuses a wrong one (exit 1).
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { failureText } from '../../contract/failure-cause.ts';
import { EXIT, UsageError, need, str, type Command, type Io, type Values } from './command.ts';
import { parseJsonObject } from './parse.ts';

function by(values: Values, io: Io): string {
  const who = str(values, 'by') ?? io.env.USER ?? '';
  if (!who) throw new UsageError('--by NAME is required (no $USER to default to)');
  return who;
}

async function send(io: Io, workflowId: string, update: string, arg: unknown, json: boolean): Promise<number> {
  const { client } = await io.temporal();
  try {
    const answer = await client.workflow.getHandle(workflowId).executeUpdate(update, { args: [arg] });
    io.out(JSON.stringify(answer));
    return EXIT.succeeded;
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    const reason = failureText(err.cause ?? err);
    if (json) io.out(JSON.stringify({ accepted: false, reason }));
    io.err(`${update} rejected: ${reason}`);
    return EXIT.failed;
  }
}

const WHO = `  --by NAME        who (default: $USER)
  --reason TEXT    why`;

export const decide: Command = {
  name: 'decide',
  synopsis: 'decide <workflowId> <action> [--by NAME] [--reason TEXT] [--node NODE]',
  summary:
    'decide on a paused runbook: retry | rollback | abort (upgrade), retry | skip | abort (incident, maintenance)',
  help: `${WHO}\n  --node NODE      the failed node decided on (rollingNodeMaintenance, when several wait)\nExit: 0 accepted, 1 rejected (e.g. not paused, unknown action).`,
  options: { by: { type: 'string' }, reason: { type: 'string' }, node: { type: 'string' } },
  async run({ values, positionals, json }, io) {
    const id = need(positionals, 0, '<workflowId>', 'decide');
    const action = need(positionals, 1, '<action>', 'decide');
    const reason = str(values, 'reason');
    const node = str(values, 'node');
    return send(
      io,
      id,
      'decide',
      { action, by: by(values, io), ...(reason ? { reason } : {}), ...(node ? { node } : {}) },
      json,
    );
  },
};

export const nodeDone: Command = {
  name: 'node-done',
  synopsis: 'node-done <workflowId> <node> [--by NAME] [--note TEXT]',
  summary: 'tell a rolling node maintenance that a drained node is upgraded (update "nodeDone")',
  help: `  --by NAME        who (default: $USER)\n  --note TEXT      e.g. what was upgraded\nExit: 0 accepted, 1 rejected (e.g. the node is not drained yet).`,
  options: { by: { type: 'string' }, note: { type: 'string' } },
  async run({ values, positionals, json }, io) {
    const id = need(positionals, 0, '<workflowId>', 'node-done');
    const node = need(positionals, 1, '<node>', 'node-done');
    const note = str(values, 'note');
    return send(io, id, 'nodeDone', { node, by: by(values, io), ...(note ? { note } : {}) }, json);
  },
};

export const approve: Command = {
  name: 'approve',
  synopsis: 'approve <workflowId> --reason TEXT [--by NAME] [--phase containment]',
  summary: 'approve an incident response\'s containment (update "approve")',
  help: `${WHO} (required)\n  --phase PHASE    what is approved (default containment)\nExit: 0 accepted, 1 rejected.`,
  options: { by: { type: 'string' }, reason: { type: 'string' }, phase: { type: 'string' } },
  async run({ values, positionals, json }, io) {
    const id = need(positionals, 0, '<workflowId>', 'approve');
    const reason = str(values, 'reason');
    if (!reason) throw new UsageError('approve: --reason TEXT is required');
    return send(io, id, 'approve', { phase: str(values, 'phase') ?? 'containment', by: by(values, io), reason }, json);
  },
};

export const recover: Command = {
  name: 'recover',
  synopsis: 'recover <workflowId> --reason TEXT [--by NAME] [--options JSON]',
  summary: 'end an incident\'s containment (update "recover"; new credentials by reference in --options)',
  help: `${WHO} (required)
  --options JSON   e.g. '{"credentials":[{"secret":"orchestrator-secrets","key":"ANTHROPIC_API_KEY","from":{"env":"NEW_KEY"}}]}'
                   (references, never values)
Exit: 0 accepted, 1 rejected.`,
  options: { by: { type: 'string' }, reason: { type: 'string' }, options: { type: 'string' } },
  async run({ values, positionals, json }, io) {
    const id = need(positionals, 0, '<workflowId>', 'recover');
    const reason = str(values, 'reason');
    if (!reason) throw new UsageError('recover: --reason TEXT is required');
    const options = str(values, 'options');
    return send(
      io,
      id,
      'recover',
      { by: by(values, io), reason, ...(options ? { options: parseJsonObject(options, '--options') } : {}) },
      json,
    );
  },
};
