// Tests of the IAM checker itself (make iamcheck): it must refuse a call outside the policy
// and a planted over-narrow policy, on hand-written policies and on the translated
// template.yaml (policies.py) with a recorded stack of make demo (testdata/demo.jsonl).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { check, readRecords } from './check.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..')
const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/kyc-local-Table'
const topic = 'arn:aws:sns:us-east-1:123456789012:kyc-local-StatusTopic'
const app = 'arn:aws:sns:us-east-1:123456789012:app/GCM/kyc-local-fcm'

const leading = (prefixes) => ({
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes },
  Null: { 'dynamodb:LeadingKeys': 'false' },
})
const fn = (statements) => ({ inline: [{ name: 'P', document: { Version: '2012-10-17', Statement: statements } }], managed: [] })
const apiLike = (prefixes) => ({
  s: {
    ApiFunction: fn([
      { Sid: 'Table', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: table, Condition: leading(prefixes) },
      { Sid: 'Publish', Effect: 'Allow', Action: 'sns:Publish', Resource: topic },
      { Sid: 'Endpoints', Effect: 'Allow', Action: ['sns:CreatePlatformEndpoint', 'sns:GetEndpointAttributes'], Resource: [app, app.replace(':app/', ':endpoint/') + '/*'] },
    ]),
  },
})
const call = (action, resource, leadingKeys) => ({ kind: 'call', stack: 's', function: 'ApiFunction', operation: 'test', action, resource, leadingKeys })

test('calls inside the policy pass; unused grants are listed', async () => {
  const got = await check(apiLike(['PROFILE#*', 'CLAIM#*']), [
    call('dynamodb:GetItem', table, ['PROFILE#alice']),
    call('dynamodb:PutItem', table, ['CLAIM#idwise#j1']),
    call('sns:Publish', topic),
    call('sns:CreatePlatformEndpoint', app),
  ])
  assert.deepEqual(got.denied, [], `denied = ${JSON.stringify(got.denied)}, want none`)
  assert.ok(got.unexercised.some((u) => u.includes('Table: dynamodb:DeleteItem')), `unexercised = ${got.unexercised}, want dynamodb:DeleteItem listed`)
  assert.ok(got.unexercised.some((u) => u.includes('Endpoints: sns:GetEndpointAttributes')), `unexercised = ${got.unexercised}, want GetEndpointAttributes listed`)
  assert.ok(!got.unexercised.some((u) => u.includes('sns:Publish')), `unexercised = ${got.unexercised}, want sns:Publish not listed (exercised)`)
})

test('calls outside the policy are denied', async () => {
  const cases = [
    ['another partition', call('dynamodb:GetItem', table, ['EVENT#idwise#e1'])],
    ['one of two transaction items in another partition', call('dynamodb:PutItem', table, ['PROFILE#alice', 'JOURNEY#idwise#j1'])],
    ['no leading keys', call('dynamodb:GetItem', table, [])],
    ['an action not granted', call('dynamodb:Scan', table)],
    ['another table', call('dynamodb:GetItem', table.replace('kyc-local-Table', 'other'), ['PROFILE#alice'])],
    ['another topic', call('sns:Publish', topic + '-other')],
    ["another application's endpoint", call('sns:GetEndpointAttributes', 'arn:aws:sns:us-east-1:123456789012:endpoint/GCM/other-app/e1')],
    ['an unknown function', { ...call('sns:Publish', topic), function: 'OtherFunction' }],
  ]
  for (const [name, c] of cases) {
    const got = await check(apiLike(['PROFILE#*', 'CLAIM#*']), [c])
    assert.equal(got.denied.length, 1, `${name}: denied = ${JSON.stringify(got.denied)}, want the call denied`)
  }
})

test('a planted over-narrow policy fails', async () => {
  const calls = [call('dynamodb:GetItem', table, ['PROFILE#alice']), call('dynamodb:PutItem', table, ['CLAIM#idwise#j1'])]
  const got = await check(apiLike(['PROFILE#*']), calls)
  assert.deepEqual(got.denied.map((d) => d.call.leadingKeys), [['CLAIM#idwise#j1']], `denied = ${JSON.stringify(got.denied)}, want the CLAIM# put`)
})

// The translated template with a stack and calls recorded by make demo: every call passes;
// with CLAIM#* removed from ApiFunction's LeadingKeys (planted), the claim writes fail.
test('translated template: demo calls pass, a planted over-narrow LeadingKeys fails', async (t) => {
  const python = join(root, '.venv', 'bin', 'python')
  if (!existsSync(python)) {
    t.skip('.venv missing: run infra/local/install.sh')
    return
  }
  const record = join(here, 'testdata', 'demo.jsonl')
  const policies = JSON.parse(execFileSync(python, [join(here, 'policies.py'), join(root, 'template.yaml'), record], { encoding: 'utf8' }))
  const calls = readRecords([record])
  const ok = await check(policies, calls)
  assert.deepEqual(ok.denied.map((d) => `${d.call.function} ${d.call.action} ${d.result}`), [], 'denied on the real template, want none')
  assert.ok(calls.some((c) => c.function === 'ApiFunction' && c.leadingKeys?.some((k) => k.startsWith('CLAIM#'))), 'fixture has no ApiFunction CLAIM# call')

  const narrowed = structuredClone(policies)
  let planted = 0
  for (const p of narrowed.fixture.ApiFunction.inline) {
    for (const s of [].concat(p.document.Statement)) {
      const keys = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']
      if (keys) {
        s.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys'] = keys.filter((k) => k !== 'CLAIM#*')
        planted++
      }
    }
  }
  assert.equal(planted, 1, 'ApiFunction has no LeadingKeys condition to narrow')
  const bad = await check(narrowed, calls)
  assert.ok(bad.denied.length > 0 && bad.denied.every((d) => d.call.function === 'ApiFunction' && d.call.leadingKeys.some((k) => k.startsWith('CLAIM#'))),
    `denied = ${JSON.stringify(bad.denied.map((d) => d.call))}, want exactly the ApiFunction CLAIM# calls`)
})
