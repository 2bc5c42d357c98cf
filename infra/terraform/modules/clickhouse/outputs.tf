output "service_id" {
  description = "ID of the ClickHouse Cloud service."
  value       = clickhouse_service.this.id
}

output "host" {
  description = "Host name of the service's native TLS endpoint."
  value       = local.host
}

output "port" {
  description = "Port of the native TLS endpoint (9440)."
  value       = local.port
}

output "database" {
  description = "Database of the InsightLite tables."
  value       = var.database
}

output "secret_arn" {
  description = "ARN of the credentials secret (JSON: username, password, host, port, database, url). The password is never an output."
  value       = aws_secretsmanager_secret.clickhouse.arn
}

output "secret_name" {
  description = "Name of the credentials secret."
  value       = aws_secretsmanager_secret.clickhouse.name
}

output "schema_job_name" {
  description = "Name of the schema job of this release; set once the job has completed (workloads wait for it)."
  value       = var.deploy_schema_job ? one([for job in kubernetes_manifest.schema_job : job.manifest.metadata.name]) : "not-deployed"
}
