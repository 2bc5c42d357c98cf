# A ClickHouse Cloud service for the events, sessions and heatmap tables, its
# password kept only in Secrets Manager, and the Kubernetes Job that applies the
# InsightLite migrations to it.

data "aws_region" "current" {}

locals {
  k8s_dir     = "${path.module}/../../../k8s"
  secret_name = "${var.name}/clickhouse"
  host        = clickhouse_service.this.endpoints.nativesecure.host
  port        = clickhouse_service.this.endpoints.nativesecure.port
  # Only URL-unreserved characters in the password, so the URL needs no escaping.
  url = "clickhouses://default:${random_password.clickhouse.result}@${local.host}:${local.port}/${var.database}"

  schema_job_name = "insightlite-schema-apply-${substr(sha256(var.image), 0, 8)}"
  schema_chunks = {
    for index, chunk in split("\n---\n", file("${local.k8s_dir}/schema-apply.yaml")) :
    "schema-apply/${index}" => chunk if trimspace(chunk) != ""
  }
  schema_job   = { for key, chunk in local.schema_chunks : key => chunk if can(regex("(?m)^kind: Job$", chunk)) }
  schema_other = { for key, chunk in local.schema_chunks : key => chunk if !can(regex("(?m)^kind: Job$", chunk)) }
  manifest_vars = {
    namespace              = var.namespace
    image                  = var.image
    aws_region             = data.aws_region.current.region
    schema_role_arn        = aws_iam_role.schema.arn
    clickhouse_secret_name = aws_secretsmanager_secret.clickhouse.name
    schema_job_name        = local.schema_job_name
  }
}

# ClickHouse Cloud asks for upper and lower case, a digit and a special character.
resource "random_password" "clickhouse" {
  length           = 40
  min_upper        = 2
  min_lower        = 2
  min_numeric      = 2
  min_special      = 2
  override_special = "-_.~"
}

resource "clickhouse_service" "this" {
  name           = var.name
  cloud_provider = "aws"
  region         = var.cloud_region

  # Only the hash leaves Terraform for ClickHouse Cloud.
  password_hash = base64sha256(random_password.clickhouse.result)

  ip_access = var.ip_access

  idle_scaling          = var.idle_scaling
  idle_timeout_minutes  = var.idle_timeout_minutes
  min_replica_memory_gb = var.min_replica_memory_gb
  max_replica_memory_gb = var.max_replica_memory_gb

  lifecycle {
    precondition {
      condition     = var.max_replica_memory_gb >= var.min_replica_memory_gb
      error_message = "max_replica_memory_gb must be at least min_replica_memory_gb."
    }
  }
}

resource "aws_secretsmanager_secret" "clickhouse" {
  #checkov:skip=CKV2_AWS_57:The password is set on the ClickHouse Cloud service by Terraform; rotation is a Terraform change (taint random_password.clickhouse), described in docs/operations.md.
  name                    = local.secret_name
  description             = "ClickHouse Cloud credentials of ${var.name}; key url is INSIGHTLITE_CLICKHOUSE_URL"
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "clickhouse" {
  secret_id = aws_secretsmanager_secret.clickhouse.id
  secret_string = jsonencode({
    username = "default"
    password = random_password.clickhouse.result
    host     = local.host
    port     = local.port
    database = var.database
    url      = local.url
  })
}

# --- The schema job's identity: it may read the ClickHouse secret, nothing else --

data "aws_iam_policy_document" "schema_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:insightlite-schema"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "schema" {
  name               = "${var.name}-schema"
  description        = "InsightLite schema job (service account ${var.namespace}/insightlite-schema)"
  assume_role_policy = data.aws_iam_policy_document.schema_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "schema_secret" {
  statement {
    sid       = "ReadClickHouseSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [aws_secretsmanager_secret.clickhouse.arn]
  }

  statement {
    sid       = "DecryptClickHouseSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "schema" {
  name   = "read-clickhouse-secret"
  role   = aws_iam_role.schema.id
  policy = data.aws_iam_policy_document.schema_secret.json
}

# --- The job ------------------------------------------------------------------

resource "kubernetes_manifest" "schema" {
  for_each = var.deploy_schema_job ? local.schema_other : {}
  manifest = yamldecode(templatestring(each.value, local.manifest_vars))

  depends_on = [aws_secretsmanager_secret_version.clickhouse, aws_iam_role_policy.schema]
}

resource "kubernetes_manifest" "schema_job" {
  for_each = var.deploy_schema_job ? local.schema_job : {}
  manifest = yamldecode(templatestring(each.value, local.manifest_vars))

  wait {
    condition {
      type   = "Complete"
      status = "True"
    }
  }

  timeouts {
    create = "30m"
  }

  depends_on = [kubernetes_manifest.schema, clickhouse_service.this]
}
