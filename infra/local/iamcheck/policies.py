"""Each function's IAM policies as the translated template gives them, resolved per stack.

Translates template.yaml with the SAM translator (samtranslator, as `sam deploy` does:
AWS::Serverless::Function -> AWS::Lambda::Function + AWS::IAM::Role), then resolves the
intrinsics of each function role's inline policies (Ref, Fn::GetAtt, Fn::Sub, Fn::Join,
Fn::Select, Fn::Split, Fn::If and AWS::NoValue) against each local stack of a
KYC_IAM_RECORD file: the stack's parameters, evaluated conditions and the ARNs of its
resources (infra/local/iamrecord's stack lines). Managed policies are listed by ARN.

usage: policies.py TEMPLATE RECORD > policies.json
  {"<stack id>": {"<FunctionLogicalId>": {"inline": [{"name", "document"}], "managed": [arn]}}}
"""
import copy
import json
import os
import re
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


class _NoManagedPolicies:
    """The template names managed policies by ARN only: nothing to look up (offline)."""

    def load(self):
        return {}


class Unresolved(Exception):
    pass


NO_VALUE = object()


def translate(path):
    with open(path) as f:
        tpl = yaml_parse(f.read())
    # The translator wants code in S3, as `sam package` leaves it; the code is not ours to check.
    for res in tpl.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            res.setdefault("Properties", {})["CodeUri"] = "s3://iamcheck/code.zip"
    return transform(tpl, {}, _NoManagedPolicies())


def resolve(v, st):
    if isinstance(v, list):
        out = [resolve(x, st) for x in v]
        return [x for x in out if x is not NO_VALUE]
    if not isinstance(v, dict):
        return v
    if len(v) == 1:
        (fn, arg), = v.items()
        if fn == "Ref":
            if arg == "AWS::NoValue":
                return NO_VALUE
            if arg in st["refs"]:
                return st["refs"][arg]
            return synthesize(arg, None, st)
        if fn == "Fn::GetAtt":
            name = ".".join(arg) if isinstance(arg, list) else arg
            if name in st["attrs"]:
                return st["attrs"][name]
            lid, _, attr = name.partition(".")
            return synthesize(lid, attr, st)
        if fn == "Fn::If":
            cond, yes, no = arg
            if cond not in st["conditions"]:
                raise Unresolved("condition " + cond)
            return resolve(yes if st["conditions"][cond] else no, st)
        if fn == "Fn::Join":
            sep, parts = arg
            return sep.join(str(p) for p in resolve(parts, st))
        if fn == "Fn::Select":
            i, lst = arg
            return resolve(lst, st)[int(resolve(i, st))]
        if fn == "Fn::Split":
            sep, s = arg
            return resolve(s, st).split(sep)
        if fn == "Fn::Sub":
            s, extra = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], st))

            def sub(m):
                name = m.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                if name in extra:
                    return str(extra[name])
                if "." in name:
                    return str(resolve({"Fn::GetAtt": name}, st))
                return str(resolve({"Ref": name}, st))

            return re.sub(r"\$\{([^}]+)\}", sub, s)
        if fn.startswith("Fn::"):
            raise Unresolved(fn)
    out = {}
    for k, x in v.items():
        r = resolve(x, st)
        if r is not NO_VALUE:
            out[k] = r
    return out


# ARNs of the resources the local stack does not create (a KMS key, log groups, ...), as
# CloudFormation would name them in a stack "kyc-local" (physical name kyc-local-<LogicalId>).
ARN_FORMATS = {
    "AWS::KMS::Key": "arn:aws:kms:{r}:{a}:key/{n}",
    "AWS::SQS::Queue": "arn:aws:sqs:{r}:{a}:{n}",
    "AWS::SNS::Topic": "arn:aws:sns:{r}:{a}:{n}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{r}:{a}:log-group:{n}:*",
    "AWS::S3::Bucket": "arn:aws:s3:::{n}",
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:{r}:{a}:secret:{n}-AbCdEf",
    "AWS::Lambda::Function": "arn:aws:lambda:{r}:{a}:function:{n}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{r}:{a}:table/{n}",
    "AWS::IAM::Role": "arn:aws:iam::{a}:role/{n}",
}
TYPES = {}


def synthesize(lid, attr, st):
    typ = TYPES.get(lid)
    if typ is None:
        raise Unresolved("%s (not a parameter or resource of the template)" % (lid if attr is None else lid + "." + attr))
    name = "kyc-local-" + lid
    fmt = ARN_FORMATS.get(typ)
    arn = fmt.format(r=st["refs"].get("AWS::Region", "us-east-1"), a=st["refs"].get("AWS::AccountId", "123456789012"), n=name) if fmt else None
    if attr is None:  # Ref: the ARN for topics, secrets, keys' ids; the name otherwise
        if typ in ("AWS::SNS::Topic", "AWS::SecretsManager::Secret"):
            return arn
        return name
    if attr in ("Arn", "TopicArn") and arn:
        return arn
    raise Unresolved("Fn::GetAtt %s.%s (%s)" % (lid, attr, typ))


def function_roles(cfn):
    res = cfn["Resources"]
    roles = {}
    for lid, r in res.items():
        if r["Type"] != "AWS::Lambda::Function":
            continue
        role = r["Properties"].get("Role", {})
        if isinstance(role, dict) and "Fn::GetAtt" in role:
            roles[lid] = res[role["Fn::GetAtt"][0]]["Properties"]
    return roles


def main(template, record):
    cfn = translate(template)
    TYPES.update({lid: r["Type"] for lid, r in cfn["Resources"].items()})
    roles = function_roles(cfn)
    stacks = {}
    with open(record) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if rec.get("kind") == "stack":
                stacks[rec["stack"]] = rec
    out = {}
    for sid, st in stacks.items():
        st = {"refs": st.get("refs") or {}, "attrs": st.get("attrs") or {}, "conditions": st.get("conditions") or {}}
        st["refs"].setdefault("AWS::Partition", "aws")
        fns = {}
        for lid, props in roles.items():
            inline = []
            for p in props.get("Policies", []):
                try:
                    doc = resolve(copy.deepcopy(p["PolicyDocument"]), st)
                except Unresolved as e:
                    sys.exit("policies.py: %s %s: cannot resolve %s" % (lid, p.get("PolicyName"), e))
                inline.append({"name": p["PolicyName"], "document": doc})
            managed = [resolve(a, st) for a in props.get("ManagedPolicyArns", [])]
            fns[lid] = {"inline": inline, "managed": [a for a in managed if a is not NO_VALUE]}
        out[sid] = fns
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
