# One IAM role per service account (IRSA), each allowed exactly what its workload
# needs: the collector and the init job read the Kafka credentials, the API the
# ClickHouse URL and the JWT key (and its exports prefix), the workers the Kafka
# and ClickHouse credentials, the IP-hash secret and the archive prefixes. The External Secrets Operator reads the secrets as the
# workload's own service account, so no component holds a broader role.

locals {
  app_service_accounts = {
    collector  = "insightlite-collector"
    api        = "insightlite-api"
    worker     = "insightlite-worker"
    kafka_init = "insightlite-kafka-init"
  }

  irsa_subjects = merge(
    { for key, sa in local.app_service_accounts : "${var.namespace}/${sa}" => sa },
    var.create_cluster ? { "kube-system/ebs-csi-controller-sa" = "ebs-csi-controller-sa" } : {},
  )

  # Secrets each workload reads, and the KMS keys those secrets are encrypted with.
  workload_secrets = {
    collector  = [var.kafka.secret_arn]
    api        = [var.clickhouse.secret_arn, aws_secretsmanager_secret.jwt.arn]
    worker     = [var.kafka.secret_arn, var.clickhouse.secret_arn]
    kafka_init = [var.kafka.secret_arn]
  }
  workload_secret_keys = {
    collector  = [var.kafka.kms_key_arn]
    api        = [aws_kms_key.secrets.arn]
    worker     = distinct([var.kafka.kms_key_arn, aws_kms_key.secrets.arn])
    kafka_init = [var.kafka.kms_key_arn]
  }

  archive_key_prefix = var.archive.prefix == "" ? "" : "${var.archive.prefix}/"
}

data "aws_iam_policy_document" "irsa_trust" {
  for_each = local.irsa_subjects

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${each.key == "kube-system/ebs-csi-controller-sa" ? "kube-system" : var.namespace}:${each.value}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "workload" {
  for_each             = local.app_service_accounts
  name                 = "${var.name}-${replace(each.key, "_", "-")}"
  description          = "InsightLite ${each.key} (service account ${var.namespace}/${each.value})"
  assume_role_policy   = data.aws_iam_policy_document.irsa_trust["${var.namespace}/${each.value}"].json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "workload_secrets" {
  for_each = local.app_service_accounts

  statement {
    sid       = "ReadOwnSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = local.workload_secrets[each.key]
  }

  statement {
    sid       = "DecryptOwnSecrets"
    actions   = ["kms:Decrypt"]
    resources = local.workload_secret_keys[each.key]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "workload_secrets" {
  for_each = local.app_service_accounts
  name     = "read-own-secrets"
  role     = aws_iam_role.workload[each.key].id
  policy   = data.aws_iam_policy_document.workload_secrets[each.key].json
}

# The workers write the archive (events/, dead_letter/ and the recordings' replays/
# under the prefix) and read it back when a replay overwrites files; nothing else in
# the bucket.
data "aws_iam_policy_document" "worker_archive" {
  statement {
    sid       = "ListArchivePrefix"
    actions   = ["s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [var.archive.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.archive_key_prefix}events/*", "${local.archive_key_prefix}dead_letter/*", "${local.archive_key_prefix}replays/*", "${local.archive_key_prefix}keys/*", "${local.archive_key_prefix}events", "${local.archive_key_prefix}dead_letter", "${local.archive_key_prefix}replays", "${local.archive_key_prefix}keys"]
    }
  }

  statement {
    sid = "ReadWriteArchiveObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [
      "${var.archive.bucket_arn}/${local.archive_key_prefix}events/*",
      "${var.archive.bucket_arn}/${local.archive_key_prefix}dead_letter/*",
      "${var.archive.bucket_arn}/${local.archive_key_prefix}replays/*",
      # The wrapped per-site data keys (created on first use, and by rotations).
      "${var.archive.bucket_arn}/${local.archive_key_prefix}keys/*",
    ]
  }

  statement {
    sid       = "UseArchiveKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.archive.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

# Envelope encryption of dead letters and recordings: the workers wrap new per-site data
# keys (kms:Encrypt) and unwrap existing ones (kms:Decrypt) with the archive's key, called
# directly (not through S3), and only with a site in the encryption context.
data "aws_iam_policy_document" "worker_data_keys" {
  statement {
    sid       = "WrapAndUnwrapDataKeys"
    actions   = ["kms:Encrypt", "kms:Decrypt"]
    resources = [var.archive.kms_key_arn]
    condition {
      test     = "Null"
      variable = "kms:EncryptionContext:site"
      values   = ["false"]
    }
  }
}

resource "aws_iam_role_policy" "worker_data_keys" {
  name   = "data-keys-wrap-unwrap"
  role   = aws_iam_role.workload["worker"].id
  policy = data.aws_iam_policy_document.worker_data_keys.json
}

resource "aws_iam_role_policy" "worker_archive" {
  name   = "archive-read-write"
  role   = aws_iam_role.workload["worker"].id
  policy = data.aws_iam_policy_document.worker_archive.json
}

# The query API writes exports under exports/ of the archive (its default
# INSIGHTLITE_API_EXPORT_URL) and reads them back to serve them, and reads and deletes
# recordings under replays/ (GET .../replays/{id}/events, DELETE); nothing else.
data "aws_iam_policy_document" "api_exports" {
  statement {
    sid       = "ListExports"
    actions   = ["s3:ListBucket"]
    resources = [var.archive.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.archive_key_prefix}exports/*", "${local.archive_key_prefix}exports", "${local.archive_key_prefix}replays/*", "${local.archive_key_prefix}replays"]
    }
  }

  statement {
    sid = "ReadWriteExports"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${var.archive.bucket_arn}/${local.archive_key_prefix}exports/*"]
  }

  statement {
    sid       = "ReadDeleteRecordings"
    actions   = ["s3:GetObject", "s3:DeleteObject"]
    resources = ["${var.archive.bucket_arn}/${local.archive_key_prefix}replays/*"]
  }

  statement {
    sid       = "UseArchiveKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.archive.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

# The query API decrypts recordings: it reads their sites' wrapped data keys under keys/
# and unwraps them (kms:Decrypt only, with a site in the encryption context); it never
# creates, rotates or destroys a key. (Reading the objects through S3 uses api_exports'
# UseArchiveKey.)
data "aws_iam_policy_document" "api_data_keys" {
  statement {
    sid       = "ReadWrappedDataKeys"
    actions   = ["s3:GetObject"]
    resources = ["${var.archive.bucket_arn}/${local.archive_key_prefix}keys/*"]
  }

  statement {
    sid       = "UnwrapDataKeys"
    actions   = ["kms:Decrypt"]
    resources = [var.archive.kms_key_arn]
    condition {
      test     = "Null"
      variable = "kms:EncryptionContext:site"
      values   = ["false"]
    }
  }
}

resource "aws_iam_role_policy" "api_data_keys" {
  name   = "data-keys-unwrap"
  role   = aws_iam_role.workload["api"].id
  policy = data.aws_iam_policy_document.api_data_keys.json
}

resource "aws_iam_role_policy" "api_exports" {
  name   = "exports-read-write"
  role   = aws_iam_role.workload["api"].id
  policy = data.aws_iam_policy_document.api_exports.json
}
