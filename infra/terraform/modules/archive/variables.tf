variable "bucket_name" {
  description = "Name of the archive bucket (globally unique). The pipeline writes s3://<bucket>/<prefix>/events/..., .../dead_letter/... and .../replays/..."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, dashes)."
  }
}

variable "prefix" {
  description = "Key prefix of the archive inside the bucket (INSIGHTLITE_ARCHIVE_URL = s3://<bucket>/<prefix>). Empty for the bucket root."
  type        = string
  default     = "insightlite"

  validation {
    condition     = can(regex("^([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$", var.prefix))
    error_message = "prefix must be path segments of A-Za-z0-9._- without leading or trailing slashes."
  }
}

variable "events_expiration_days" {
  description = "Days an archived event file is kept: 13 months (395 days), the same as the ClickHouse TTL and INSIGHTLITE_ARCHIVE_RETENTION_MONTHS, so year-over-year comparisons work and nothing older survives. At most 396: the rows carry the visitor hash, an identifier the CNIL audience-measurement exemption keeps 13 months at most."
  type        = number
  default     = 395

  validation {
    condition     = var.events_expiration_days >= 1 && var.events_expiration_days <= 396
    error_message = "events_expiration_days must be between 1 and 396 (13 months, the CNIL audience-measurement exemption's limit)."
  }
}

variable "dead_letter_expiration_days" {
  description = "Days a dead-letter file is kept: the same as INSIGHTLITE_DEAD_LETTER_RETENTION_DAYS. Shorter than the events: dead letters only serve to diagnose and reprocess recent rejects."
  type        = number
  default     = 30

  validation {
    condition     = var.dead_letter_expiration_days >= 1 && var.dead_letter_expiration_days <= 395
    error_message = "dead_letter_expiration_days must be between 1 and 395."
  }
}

variable "exports_expiration_days" {
  description = "Days a query API export (under exports/) is kept: exports are downloads, not records."
  type        = number
  default     = 30

  validation {
    condition     = var.exports_expiration_days >= 1 && var.exports_expiration_days <= 395
    error_message = "exports_expiration_days must be between 1 and 395."
  }
}

variable "replay_expiration_days" {
  description = "Days a session recording's blob (under replays/) is kept: the same as INSIGHTLITE_REPLAY_RETENTION_DAYS, which sets the ClickHouse TTL of the recordings."
  type        = number
  default     = 30

  validation {
    condition     = var.replay_expiration_days >= 1 && var.replay_expiration_days <= 3650
    error_message = "replay_expiration_days must be between 1 and 3650."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten or deleted object version is kept (a replay overwrites archive files with the same names)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 365
    error_message = "noncurrent_version_expiration_days must be between 1 and 365."
  }
}

variable "access_log_expiration_days" {
  description = "Days the server access logs of the archive bucket are kept in the log bucket."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_expiration_days >= 1
    error_message = "access_log_expiration_days must be at least 1."
  }
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
}
