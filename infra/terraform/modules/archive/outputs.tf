output "bucket_name" {
  description = "Name of the archive bucket."
  value       = aws_s3_bucket.archive.id
}

output "bucket_arn" {
  description = "ARN of the archive bucket."
  value       = aws_s3_bucket.archive.arn
}

output "prefix" {
  description = "Key prefix of the archive inside the bucket (no trailing slash)."
  value       = var.prefix
}

output "archive_url" {
  description = "INSIGHTLITE_ARCHIVE_URL of the pipeline."
  value       = var.prefix == "" ? "s3://${aws_s3_bucket.archive.id}" : "s3://${aws_s3_bucket.archive.id}/${var.prefix}"
}

output "kms_key_arn" {
  description = "KMS key of the archive objects; writers and readers need kms:GenerateDataKey / kms:Decrypt on it."
  value       = aws_kms_key.archive.arn
}

output "log_bucket_name" {
  description = "Bucket receiving the archive's server access logs."
  value       = aws_s3_bucket.logs.id
}
