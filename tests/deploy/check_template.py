"""Checks template.yaml against the code it deploys (run by scripts/deploy-check.sh).

- the HTTP API has exactly the routes of the `cargo lambda watch` router in Cargo.toml,
  each to the same function, and each routed function may be invoked by the API for
  its routes (a method and a path, never the whole API);
- every crate in functions/ is deployed as provided.al2023/arm64, built by
  rust-cargolambda;
- no policy grants dynamodb:* or any table action on Resource '*', no SAM policy
  template (DynamoDBCrudPolicy & co.) is used, and every table action granted is one
  the store code performs; ses:SendEmail is granted on the sender identity only, and
  only to functions whose handler sends mail;
- the table is what shared/src/store.rs expects; secrets come only by dynamic reference;
- the template, once SAM has transformed it, has no circular dependency (cfn-lint and
  `sam validate` do not see those, CloudFormation refuses them at deploy time).

Needs the project's .venv (cfn-lint for the YAML loader, aws-sam-translator).
"""

import copy
import fnmatch
import json
import os
import re
import sys
import tomllib
import unittest
from pathlib import Path

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# SDK call in the store code -> the IAM action it needs.
SDK_ACTIONS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "batch_get_item": "dynamodb:BatchGetItem",
    "batch_write_item": "dynamodb:BatchWriteItem",
    "transact_write_items": "dynamodb:TransactWriteItems",
    "transact_get_items": "dynamodb:TransactGetItems",
}


def load_template(path=TEMPLATE_PATH):
    template, matches = decode(str(path))
    if matches:
        raise AssertionError(f"{path} does not parse: {matches}")
    # Plain dicts and strings, as SAM's translator expects.
    return json.loads(json.dumps(template, default=str))


def sam_transform(template):
    """The template as CloudFormation receives it after `sam build`/`sam package`."""
    packaged = copy.deepcopy(template)
    packaged.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/code.zip"
    for resource in packaged["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"].pop("CodeUri", None)
    params = {"ChallengeId": "test"}
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    class NoManagedPolicies:
        def load(self):
            return {}

    return transform(packaged, params, NoManagedPolicies())


def watch_routes():
    """{(path, METHOD): function} from Cargo.toml's watch router."""
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"]
    return {
        (path, entry["method"].upper()): entry["function"]
        for path, entries in router.items()
        for entry in entries
    }


def gateway_path(watch_path):
    """`cargo lambda watch`'s `{*name}` catch-all is API Gateway's `{proxy+}`."""
    return re.sub(r"\{\*[^}]+\}", "{proxy+}", watch_path)


def function_dirs():
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml"))


def sub_text(value):
    """The string of a `!Sub` (or a plain string)."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub[0] if isinstance(sub, list) else sub
    return value if isinstance(value, str) else None


def references(node):
    """Logical ids a piece of template refers to (Ref, GetAtt, ${X} in Sub, SAM's X.Version)."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value.split(".")[0])
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    if name not in variables:
                        found.add(name.split(".")[0])
                found |= references(variables)
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def dependency_cycle(resources):
    """A list of logical ids forming a cycle, or None."""
    graph = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        graph[name] = (references(resource.get("Properties", {})) | set(depends)) & resources.keys()
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def store_sdk_actions():
    """IAM actions for the DynamoDB SDK calls in the shared crate's non-test code."""
    used = set()
    for source in (ROOT / "shared" / "src").rglob("*.rs"):
        code = source.read_text().split("#[cfg(test)]")[0]
        for call, action in SDK_ACTIONS.items():
            if re.search(rf"\.{call}\(\)", code):
                used.add(action)
    return used


def sends_mail(binary):
    """Whether the function's handler (shared/src/api/<module>.rs) sends mail."""
    module = ROOT / "shared" / "src" / "api" / f"{binary.replace('-', '_')}.rs"
    if not module.exists():
        return False
    text = module.read_text()
    # Mail goes through `app.mail`, or `app.senders()` (usage and the outbox: Stripe, store, mail).
    return "app.mail" in text or "app.senders()" in text


def as_list(value):
    return value if isinstance(value, list) else [value]


class Template(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = load_template()
        cls.resources = cls.template["Resources"]
        cls.globals = cls.template.get("Globals", {}).get("Function", {})
        cls.functions = {
            name: r for name, r in cls.resources.items() if r["Type"] == "AWS::Serverless::Function"
        }
        cls.by_binary = {
            r.get("Metadata", {}).get("BuildProperties", {}).get("Binary"): name
            for name, r in cls.functions.items()
        }

    def prop(self, function, key):
        return self.functions[function]["Properties"].get(key, self.globals.get(key))

    def api_routes(self):
        """{(path, METHOD): binary} from the HTTP API's OpenAPI body."""
        apis = [r for r in self.resources.values() if r["Type"] == "AWS::Serverless::HttpApi"]
        self.assertEqual(len(apis), 1, "one HTTP API")
        routes = {}
        for path, operations in apis[0]["Properties"]["DefinitionBody"]["paths"].items():
            for method, operation in operations.items():
                if method not in HTTP_METHODS:
                    continue
                integration = operation["x-amazon-apigateway-integration"]
                self.assertEqual(integration["type"], "aws_proxy", path)
                self.assertEqual(integration["payloadFormatVersion"], "2.0", path)
                uri = sub_text(integration["uri"])
                found = re.search(r":function:\$\{AWS::StackName\}-([a-z0-9-]+)/invocations$", uri or "")
                self.assertTrue(found, f"{method.upper()} {path}: integration uri {uri!r}")
                routes[(path, method.upper())] = found.group(1)
        # Events on functions would add routes too (and a dependency cycle through APP_URL).
        for name, function in self.functions.items():
            events = function["Properties"].get("Events", {})
            self.assertFalse([e for e in events.values() if e["Type"] in ("HttpApi", "Api")], name)
        return routes

    def test_routes_match_the_watch_router_both_ways(self):
        expected = {(gateway_path(p), m): f for (p, m), f in watch_routes().items()}
        self.assertEqual(self.api_routes(), expected)
        self.assertIn(("/assets/{proxy+}", "GET"), expected)

    def test_routed_names_are_deployed_functions(self):
        for (path, method), binary in self.api_routes().items():
            self.assertIn(binary, self.by_binary, f"{method} {path} -> {binary}")
            name = self.functions[self.by_binary[binary]]["Properties"]["FunctionName"]
            self.assertEqual(sub_text(name), "${AWS::StackName}-" + binary)

    def test_every_function_crate_is_deployed_for_arm64(self):
        self.assertEqual(sorted(b for b in self.by_binary if b), function_dirs())
        self.assertEqual(len(self.by_binary), len(self.functions), "one function per binary")
        for binary, name in self.by_binary.items():
            crate = tomllib.loads((ROOT / "functions" / binary / "Cargo.toml").read_text())
            self.assertEqual(crate["package"]["name"], binary)
            self.assertEqual(self.functions[name]["Metadata"]["BuildMethod"], "rust-cargolambda")
            self.assertEqual(self.prop(name, "Runtime"), "provided.al2023")
            self.assertEqual(self.prop(name, "Architectures"), ["arm64"])
            self.assertEqual(self.prop(name, "Handler"), "bootstrap")
            for key in ("MemorySize", "Timeout"):
                self.assertIsInstance(self.prop(name, key), int, f"{name} {key}")
            self.assertLessEqual(self.prop(name, "Timeout"), 29 if binary != "provision" else 900)

    def test_the_api_may_invoke_each_function_for_its_routes_only(self):
        routes = self.api_routes()
        permissions = {}
        for resource in self.resources.values():
            if resource["Type"] != "AWS::Lambda::Permission":
                continue
            props = resource["Properties"]
            self.assertEqual(props["Principal"], "apigateway.amazonaws.com")
            function = props["FunctionName"]["Ref"]
            pattern = sub_text(props["SourceArn"]).split("${HttpApi}/", 1)[1]
            permissions.setdefault(function, []).append(pattern)
        for (path, method), binary in routes.items():
            arn_tail = f"$default/{method}{path.replace('{proxy+}', 'css/app.css')}"
            allowed = [
                p for p in permissions.get(self.by_binary[binary], []) if fnmatch.fnmatchcase(arn_tail, p)
            ]
            self.assertTrue(allowed, f"{method} {path}: no permission for {binary}")
        for function, patterns in permissions.items():
            for pattern in patterns:
                self.assertRegex(pattern, r"^\*/[A-Z]+/", f"{function}: not limited to a method and path")
        routed = {self.by_binary[b] for b in routes.values()}
        self.assertEqual(set(permissions), routed, "a permission for each routed function, and only those")

    def test_no_wildcard_table_permissions(self):
        roles = {n: r for n, r in sam_transform(self.template)["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
        self.assertGreaterEqual(len(roles), len(self.functions))
        for role_name, role in roles.items():
            managed = role["Properties"].get("ManagedPolicyArns", [])
            for arn in managed:
                self.assertTrue(sub_text(arn).endswith("AWSLambdaBasicExecutionRole"), f"{role_name}: {arn}")
            for policy in role["Properties"].get("Policies", []):
                for statement in as_list(policy["PolicyDocument"]["Statement"]):
                    actions = [a.lower() for a in as_list(statement["Action"])]
                    self.assertEqual(statement["Effect"], "Allow")
                    for action in actions:
                        self.assertNotIn("*", action, f"{role_name}: wildcard action {action}")
                    if actions == ["dynamodb:scan"]:
                        # Only the outbox index is ever scanned, never the table.
                        self.assertEqual(as_list(statement["Resource"]), [{"Fn::Sub": "${Table.Arn}/index/outbox"}], role_name)
                    elif any(a.startswith("dynamodb:") for a in actions):
                        for resource in as_list(statement["Resource"]):
                            self.assertEqual(resource, {"Fn::GetAtt": ["Table", "Arn"]}, role_name)
        for name, function in self.functions.items():
            for policy in function["Properties"].get("Policies", []):
                self.assertIsInstance(policy, dict, f"{name}: managed policy {policy}")
                self.assertIn("Statement", policy, f"{name}: SAM policy template {list(policy)}")

    def test_table_actions_granted_are_the_ones_the_code_performs(self):
        granted = {}
        for name, function in self.functions.items():
            for policy in function["Properties"].get("Policies", []):
                for statement in as_list(policy["Statement"]):
                    for action in as_list(statement["Action"]):
                        if action.startswith("dynamodb:"):
                            granted.setdefault(action, []).append(name)
        used = store_sdk_actions()
        self.assertTrue(used, "the store performs no DynamoDB call?")
        unused = set(granted) - used
        self.assertFalse(unused, f"granted but never called in shared/src: { {a: granted[a] for a in unused} }")
        self.assertFalse(used - set(granted), "the code calls actions no function may perform")
        self.assertNotIn("SiteFunction", {f for names in granted.values() for f in names})

    def test_mail_is_sent_only_by_the_functions_that_send_from_the_sender_identity(self):
        self.assertIn(".send_email()", (ROOT / "shared" / "src" / "mail" / "ses.rs").read_text())
        identity = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${FromEmail}"
        owner = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${OwnerEmail}"
        senders = set()
        for name, function in self.functions.items():
            for policy in function["Properties"].get("Policies", []):
                for statement in as_list(policy["Statement"]):
                    actions = as_list(statement["Action"])
                    ses = [a for a in actions if a.startswith("ses:")]
                    if not ses:
                        continue
                    self.assertEqual(actions, ["ses:SendEmail"], f"{name}: SES actions beside others")
                    resources = [sub_text(r) for r in as_list(statement["Resource"])]
                    # The sender's identity, and for the owner's mail the owner's (the SES
                    # sandbox checks the recipient's identity too); never a wildcard.
                    self.assertEqual(resources[0], identity, name)
                    self.assertLessEqual(set(resources[1:]), {owner}, name)
                    senders.add(name)
        expected = {self.by_binary[b] for b in self.by_binary if b and sends_mail(b)}
        self.assertTrue(expected, "no handler sends mail?")
        self.assertEqual(senders, expected)

    def test_table(self):
        table = self.resources["Table"]["Properties"]
        self.assertEqual(table["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(table["KeySchema"], [{"AttributeName": "pk", "KeyType": "HASH"}])
        self.assertEqual(
            table["AttributeDefinitions"],
            [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "pendingSince", "AttributeType": "N"}],
        )
        # The outbox: a sparse index on `pendingSince`, as the store creates it locally.
        self.assertEqual(
            table["GlobalSecondaryIndexes"],
            [{"IndexName": "outbox", "KeySchema": [{"AttributeName": "pendingSince", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        )
        billing = (ROOT / "shared" / "src" / "store" / "dynamo" / "billing.rs").read_text()
        self.assertIn('OUTBOX_INDEX: &str = "outbox"', billing)
        self.assertIn('PENDING: &str = "pendingSince"', billing)
        self.assertIn("`pk`", (ROOT / "shared" / "src" / "store.rs").read_text())
        self.assertTrue(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"])
        self.assertEqual(table["TimeToLiveSpecification"], {"AttributeName": "ttl", "Enabled": True})
        self.assertEqual(table["DeletionProtectionEnabled"], {"Fn::If": ["IsProd", True, False]})
        self.assertEqual(self.template["Conditions"]["IsProd"], {"Fn::Equals": [{"Ref": "Stage"}, "prod"]})

    def test_logs_are_json_with_retention(self):
        for name in self.functions:
            logging = self.prop(name, "LoggingConfig")
            self.assertEqual(logging["LogFormat"], "JSON", name)
            group = self.resources[logging["LogGroup"]["Ref"]]
            self.assertEqual(group["Type"], "AWS::Logs::LogGroup")
            self.assertIn("RetentionInDays", group["Properties"])

    def test_secrets_only_by_dynamic_reference(self):
        variables = self.globals["Environment"]["Variables"]
        for key in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SESSION_SECRET"):
            self.assertRegex(sub_text(variables[key]), r"^\{\{resolve:secretsmanager:\$\{StripeSecretName\}:SecretString:" + key + r"\}\}$")
        for name in ("CHALLENGE_ID", "APP_URL", "TABLE_NAME", "FROM_EMAIL", "OWNER_EMAIL"):
            self.assertIn(name, variables)
        text = TEMPLATE_PATH.read_text()
        self.assertNotRegex(text, r"(sk|rk)_(test|live)_[A-Za-z0-9]|whsec_[A-Za-z0-9]")
        for name, parameter in self.template["Parameters"].items():
            self.assertNotRegex(name.lower(), r"key$|webhooksecret|password", "secrets are not parameters")

    def test_catalog_custom_resource(self):
        catalog = self.resources["Catalog"]
        self.assertEqual(catalog["Type"], "AWS::CloudFormation::CustomResource")
        props = catalog["Properties"]
        self.assertEqual(props["ServiceToken"], {"Fn::GetAtt": ["ProvisionFunction", "Arn"]})
        self.assertEqual(props["ChallengeId"], {"Ref": "ChallengeId"})
        self.assertIn("AppUrl", props)
        self.assertLess(props["ServiceTimeout"], 3600)

    def test_outputs(self):
        outputs = self.template["Outputs"]
        self.assertEqual(sub_text(outputs["WebhookUrl"]["Value"]), sub_text(outputs["ApiUrl"]["Value"]) + "/webhook")

    def test_no_circular_dependency_after_the_sam_transform(self):
        self.assertIsNone(dependency_cycle(sam_transform(self.template)["Resources"]))


class CycleFinder(unittest.TestCase):
    """The cycle check itself: it must catch what SAM events + APP_URL would create."""

    def test_finds_a_function_api_cycle(self):
        resources = {
            "Api": {"Properties": {"Body": {"uri": {"Fn::Sub": "arn:…/functions/${Fn.Arn}/invocations"}}}},
            "Fn": {"Properties": {"Environment": {"APP_URL": {"Fn::Sub": "https://${Api}.execute-api"}}}},
            "Other": {"Properties": {"X": {"Ref": "Fn"}}},
        }
        self.assertEqual(dependency_cycle(resources), ["Api", "Fn", "Api"])
        del resources["Fn"]["Properties"]["Environment"]
        self.assertIsNone(dependency_cycle(resources))


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"deploy: {result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
