output "cluster_name" {
  description = "EKS cluster running the workloads (aws eks update-kubeconfig --name ...)."
  value       = module.compute.cluster_name
}

output "kafka_bootstrap_servers" {
  description = "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS (SASL/SCRAM over TLS)."
  value       = module.kafka.bootstrap_brokers_sasl_scram
}

output "kafka_topics" {
  description = "The pipeline's topics."
  value       = module.kafka.topics
}

output "archive_url" {
  description = "INSIGHTLITE_ARCHIVE_URL."
  value       = module.archive.archive_url
}

output "clickhouse_host" {
  description = "ClickHouse Cloud native TLS endpoint host (credentials: the secret below)."
  value       = module.clickhouse.host
}

output "secret_arns" {
  description = "Secrets Manager secrets of the pipeline (values are never outputs)."
  value = {
    kafka_scram = module.kafka.scram_secret_arn
    clickhouse  = module.clickhouse.secret_arn
    jwt_secret  = module.compute.jwt_secret_arn
  }
}

output "workload_role_arns" {
  description = "IAM roles of the workloads' service accounts."
  value       = module.compute.workload_role_arns
}
