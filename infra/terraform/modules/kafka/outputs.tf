output "cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "bootstrap_brokers_sasl_scram" {
  description = "Comma-separated host:9096 of the brokers for SASL/SCRAM over TLS (INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS)."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "security_group_id" {
  description = "Security group of the brokers."
  value       = aws_security_group.brokers.id
}

output "scram_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the SCRAM username and password (JSON keys username, password). The value is never an output."
  value       = aws_secretsmanager_secret.scram.arn
}

output "scram_secret_name" {
  description = "Name of the SCRAM secret."
  value       = aws_secretsmanager_secret.scram.name
}

output "scram_username" {
  description = "SASL/SCRAM user name (INSIGHTLITE_KAFKA_SASL_USERNAME); not a secret."
  value       = var.scram_username
}

output "kms_key_arn" {
  description = "KMS key of the cluster's storage and of the SCRAM secret; readers of the secret need kms:Decrypt on it."
  value       = aws_kms_key.kafka.arn
}

output "topics" {
  description = "Names of the pipeline's topics."
  value       = [for topic in local.topics : "${var.topic_prefix}${topic}"]
}
