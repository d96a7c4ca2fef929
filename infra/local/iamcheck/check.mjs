// Evaluates every recorded AWS call (infra/local/iamrecord: KYC_IAM_RECORD lines) against
// its function's policies in the translated template (policies.py) with a real IAM policy
// evaluator (@cloud-copilot/iam-simulate, pinned in package.json). Any call not allowed
// fails (exit 1), printed with its function, action, resource and leading keys; every
// grant (function, statement, action) no call exercised is listed for review.
//
// usage: node check.mjs POLICIES.json RECORD.jsonl [RECORD.jsonl...]
import { readFileSync } from 'node:fs'
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'

// The AWS managed policies SAM attaches, as AWS publishes them (their actions are the
// Lambda service's and the runtime's: logs, X-Ray, the event source pollers).
const logs = ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']
export const managedPolicies = {
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': [{ Effect: 'Allow', Action: logs, Resource: '*' }],
  'arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess': [{
    Effect: 'Allow', Resource: '*',
    Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:GetSamplingStatisticSummaries'],
  }],
  'arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole': [{
    Effect: 'Allow', Resource: '*', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', ...logs],
  }],
  'arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole': [{
    Effect: 'Allow', Resource: '*',
    Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams', ...logs],
  }],
}

// identityPolicies gives every statement an id (its Sid, or policy and position) so that the
// evaluator's explanation names the statement that allowed a call.
export function identityPolicies(fn) {
  const out = []
  for (const p of fn.inline) {
    const stmts = [].concat(p.document.Statement).map((s, i) => ({ ...s, Sid: s.Sid || `${p.name.replace(/[^A-Za-z0-9]/g, '')}S${i}` }))
    out.push({ name: p.name, policy: { ...p.document, Statement: stmts } })
  }
  for (const arn of fn.managed) {
    const stmts = managedPolicies[arn]
    if (!stmts) throw new Error(`managed policy ${arn} unknown to iamcheck: add its document to check.mjs`)
    const name = 'managed:' + arn.split('/').pop()
    out.push({ name, policy: { Version: '2012-10-17', Statement: stmts.map((s, i) => ({ ...s, Sid: `${name.replace(/[^A-Za-z0-9]/g, '')}S${i}` })) } })
  }
  return out
}

export function readRecords(paths) {
  const calls = []
  for (const path of paths) {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.trim()) continue
      const r = JSON.parse(line)
      if (r.kind === 'call') calls.push(r)
    }
  }
  return calls
}

const actionMatches = (pattern, action) =>
  new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.?+^$|()[\]{}\\]/g, '\\$&')).join('.*') + '$', 'i').test(action)

// check evaluates calls against policies ({stack: {function: {inline, managed}}}) and
// returns {denied: [{call, result}], unexercised: [string], unmodelled: [string], evaluated: n}.
//
// The evaluator validates each request against the Service Authorization Reference. It
// lists no resource type for SNS mobile push (CreatePlatformEndpoint, Get/Set endpoint
// attributes, DeleteEndpoint, Publish to an endpoint ARN): those calls are evaluated
// without that validation against the ARN they name (the template scopes them to its own
// platform applications), and listed as unmodelled.
export async function check(policies, calls) {
  const denied = []
  const exercised = new Set() // function|policy|sid|action
  const seen = new Map()
  const unmodelled = new Set()
  let evaluated = 0
  for (const call of calls) {
    const fn = policies[call.stack]?.[call.function]
    if (!fn) {
      denied.push({ call, result: `no policies for function ${call.function} in stack ${call.stack}` })
      continue
    }
    const keys = [...new Set(call.leadingKeys || [])].sort()
    const id = JSON.stringify([call.stack, call.function, call.action, call.resource, keys])
    if (seen.has(id)) continue
    seen.set(id, true)
    evaluated++
    const context = call.action.startsWith('dynamodb:') && keys.length ? { 'dynamodb:LeadingKeys': keys } : {}
    const account = call.resource.split(':')[4] || '123456789012'
    const simulation = (pols) => ({
      identityPolicies: pols, serviceControlPolicies: [], resourceControlPolicies: [],
      request: {
        action: call.action, principal: `arn:aws:iam::${account}:role/kyc-local-${call.function}Role`,
        resource: { resource: call.resource, accountId: account }, contextVariables: context,
      },
    })
    const pols = identityPolicies(fn)
    const res = await runSimulation(simulation(pols), {})
    if (res.resultType === 'error' && ['must.use.wildcard', 'no.resource.types'].includes(res.errors?.message)) {
      unmodelled.add(`${call.function} ${call.action} (${res.errors.message})`)
      const result = runUnsafeSimulation(simulation(pols), {})
      if (result !== 'Allowed') {
        denied.push({ call, result })
        continue
      }
      for (const p of pols) {
        for (const st of p.policy.Statement) {
          if (st.Effect === 'Allow' && runUnsafeSimulation(simulation([{ name: p.name, policy: { ...p.policy, Statement: [st] } }]), {}) === 'Allowed') {
            exercised.add([call.function, p.name, st.Sid, call.action].join('|'))
          }
        }
      }
      continue
    }
    if (res.resultType === 'error') {
      denied.push({ call, result: 'simulation error: ' + JSON.stringify(res.errors) })
      continue
    }
    if (res.overallResult !== 'Allowed') {
      denied.push({ call, result: res.overallResult })
      continue
    }
    const results = res.resultType === 'single' ? [res.result] : res.results
    for (const r of results) {
      for (const s of r.analysis?.identityAnalysis?.allowStatements || []) {
        exercised.add([call.function, s.policyId, s.explain?.identifier, call.action].join('|'))
      }
    }
  }
  // Every allowed (function, statement, action) of any stack the calls ran in.
  const grants = new Map()
  for (const sid of new Set(calls.map((c) => c.stack))) {
    for (const [fname, fn] of Object.entries(policies[sid] || {})) {
      for (const p of identityPolicies(fn)) {
        for (const s of p.policy.Statement) {
          if (s.Effect !== 'Allow') continue
          for (const action of [].concat(s.Action)) {
            const key = [fname, p.name, s.Sid, action].join('|')
            if (!grants.has(key)) grants.set(key, { fname, policy: p.name, sid: s.Sid, action, resource: s.Resource })
          }
        }
      }
    }
  }
  const unexercised = []
  for (const [, g] of grants) {
    const used = [...exercised].some((e) => {
      const [f, pol, sid, action] = e.split('|')
      return f === g.fname && pol === g.policy && sid === g.sid && actionMatches(g.action, action)
    })
    if (!used) unexercised.push(`${g.fname} ${g.policy} ${g.sid}: ${g.action} on ${JSON.stringify(g.resource)}`)
  }
  return { denied, unexercised: unexercised.sort(), unmodelled: [...unmodelled].sort(), evaluated }
}

async function main() {
  const [policiesPath, ...records] = process.argv.slice(2)
  if (!policiesPath || records.length === 0) {
    console.error('usage: node check.mjs POLICIES.json RECORD.jsonl...')
    process.exit(2)
  }
  const policies = JSON.parse(readFileSync(policiesPath, 'utf8'))
  const calls = readRecords(records)
  if (calls.length === 0) {
    console.error('iamcheck: no AWS call recorded (was KYC_IAM_RECORD set for the runs?)')
    process.exit(1)
  }
  const { denied, unexercised, unmodelled, evaluated } = await check(policies, calls)
  const functions = new Set(calls.map((c) => c.function))
  console.log(`iamcheck: ${calls.length} recorded calls (${evaluated} distinct) of ${functions.size} functions in ${new Set(calls.map((c) => c.stack)).size} stacks`)
  // The managed policies' grants serve Lambda itself (logs, X-Ray, the event source
  // pollers), never the code: one line per function and policy.
  const own = unexercised.filter((u) => !u.split(' ')[1].startsWith('managed:'))
  const managed = new Map()
  for (const u of unexercised.filter((u) => u.split(' ')[1].startsWith('managed:'))) {
    const [f, pol] = u.split(' ')
    const action = u.split(': ')[1].split(' on ')[0]
    managed.set(`${f} ${pol}`, [...(managed.get(`${f} ${pol}`) || []), action])
  }
  if (own.length) {
    console.log(`iamcheck: ${own.length} grants of the template's own statements no recorded call exercised (review; kms:ViaService grants are used by DynamoDB, not by the code):`)
    for (const u of own) console.log('  ' + u)
  }
  if (managed.size) {
    console.log('iamcheck: managed policies (used by Lambda itself, not by the code; not recorded):')
    for (const [k, actions] of managed) console.log(`  ${k}: ${actions.join(', ')}`)
  }
  if (unmodelled.length) {
    console.log('iamcheck: evaluated against the ARN they name, the Service Authorization Reference listing no resource type for them:')
    for (const u of unmodelled) console.log('  ' + u)
  }
  for (const d of denied) {
    const c = d.call
    console.log(`iamcheck: DENIED ${c.function} ${c.action} on ${c.resource}${c.leadingKeys?.length ? ' leading keys ' + JSON.stringify(c.leadingKeys) : ''} (${c.operation}): ${d.result}`)
  }
  console.log(`iamcheck: ${evaluated - denied.length} passed, ${denied.length} failed`)
  process.exit(denied.length ? 1 : 0)
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
