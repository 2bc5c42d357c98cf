# The Parquet archive, the dead letters and the session recordings: a private,
# KMS-encrypted, versioned bucket whose lifecycle deletes what the retention
# policy says must go, and a log bucket for its server access logs.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  key_prefix         = var.prefix == "" ? "" : "${var.prefix}/"
  events_prefix      = "${local.key_prefix}events/"
  dead_letter_prefix = "${local.key_prefix}dead_letter/"
  exports_prefix     = "${local.key_prefix}exports/"
  replays_prefix     = "${local.key_prefix}replays/"
  log_bucket_name    = "${substr(var.bucket_name, 0, 58)}-logs"
  account_root       = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
}

resource "aws_kms_key" "archive" {
  description             = "${var.bucket_name}: archive objects"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  # Access is granted by IAM policies of the account (the workers' role); the key
  # policy only delegates to the account.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministers"
      Effect    = "Allow"
      Principal = { AWS = local.account_root }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
  tags = var.tags
}

resource "aws_kms_alias" "archive" {
  name          = "alias/${var.bucket_name}-archive"
  target_key_id = aws_kms_key.archive.key_id
}

# --- The archive bucket -------------------------------------------------------

resource "aws_s3_bucket" "archive" {
  #checkov:skip=CKV_AWS_144:Cross-region replication would copy personal-data-derived events to a second region; the archive is rebuilt from Kafka on loss of recent data and its loss otherwise is accepted.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events; the pipeline is the only writer and readers list partitions.
  bucket = var.bucket_name
  tags   = var.tags
}

resource "aws_s3_bucket_ownership_controls" "archive" {
  bucket = aws_s3_bucket.archive.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "archive" {
  bucket                  = aws_s3_bucket.archive.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "archive" {
  bucket = aws_s3_bucket.archive.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.archive.arn
    }
    # One data key per bucket instead of one KMS call per object: Parquet files
    # are many and small at low traffic.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "archive" {
  bucket = aws_s3_bucket.archive.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "archive" {
  bucket = aws_s3_bucket.archive.id

  rule {
    id     = "expire-events"
    status = "Enabled"
    filter {
      prefix = local.events_prefix
    }
    expiration {
      days = var.events_expiration_days
    }
  }

  rule {
    id     = "expire-dead-letters"
    status = "Enabled"
    filter {
      prefix = local.dead_letter_prefix
    }
    expiration {
      days = var.dead_letter_expiration_days
    }
  }

  rule {
    id     = "expire-exports"
    status = "Enabled"
    filter {
      prefix = local.exports_prefix
    }
    expiration {
      days = var.exports_expiration_days
    }
  }

  # Session recordings: set it to INSIGHTLITE_REPLAY_RETENTION_DAYS. S3 counts from
  # when a blob was written, minutes after its events; a blob rewritten by a
  # reprocessing run starts again, which `insightlite replays expire` (by the
  # chunk's own time) does not.
  rule {
    id     = "expire-replays"
    status = "Enabled"
    filter {
      prefix = local.replays_prefix
    }
    expiration {
      days = var.replay_expiration_days
    }
  }

  # A replay rewrites files under the same names: the replaced versions, and the
  # delete markers the expirations leave, must not outlive the retention either.
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    expiration {
      expired_object_delete_marker = true
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.archive]
}

resource "aws_s3_bucket_policy" "archive" {
  bucket = aws_s3_bucket.archive.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.archive.arn, "${aws_s3_bucket.archive.arn}/*"]
      Condition = {
        Bool = { "aws:SecureTransport" = "false" }
      }
    }]
  })

  depends_on = [aws_s3_bucket_public_access_block.archive]
}

resource "aws_s3_bucket_logging" "archive" {
  bucket        = aws_s3_bucket.archive.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3-access/${var.bucket_name}/"
}

# --- The access-log bucket ----------------------------------------------------

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target; logging it into itself would log every log write.
  #checkov:skip=CKV_AWS_145:S3 server access logging only delivers to buckets encrypted with SSE-S3 (AES256), never SSE-KMS.
  #checkov:skip=CKV_AWS_144:Access logs are kept for audit in the region of the data they describe.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events of access logs.
  bucket = local.log_bucket_name
  tags   = var.tags
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
        Condition = {
          Bool = { "aws:SecureTransport" = "false" }
        }
      },
      {
        # With BucketOwnerEnforced, S3 log delivery is granted by policy, and only
        # for the archive bucket of this account.
        Sid       = "S3ServerAccessLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/s3-access/*"
        Condition = {
          ArnLike      = { "aws:SourceArn" = aws_s3_bucket.archive.arn }
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.logs]
}
