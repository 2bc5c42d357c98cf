output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = local.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint (for the kubernetes and helm providers)."
  value       = local.cluster_endpoint
}

output "cluster_certificate_authority" {
  description = "Base64 CA certificate of the Kubernetes API (public)."
  value       = local.cluster_ca
}

output "cluster_security_group_id" {
  description = "Security group of the cluster's nodes; give it to the Kafka module as a client."
  value       = local.cluster_sg_id
}

output "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster (IRSA)."
  value       = local.oidc_provider_arn
}

output "oidc_issuer" {
  description = "OIDC issuer of the cluster without https:// (IRSA condition keys)."
  value       = local.oidc_issuer
}

output "namespace" {
  description = "Namespace of the workloads; depends on the namespace and shared settings being applied."
  value = var.deploy_workloads ? one([
    for manifest in kubernetes_manifest.platform : manifest.manifest.metadata.namespace if manifest.manifest.kind == "ConfigMap"
  ]) : var.namespace
}

output "secrets_kms_key_arn" {
  description = "KMS key encrypting the InsightLite secrets in Secrets Manager."
  value       = aws_kms_key.secrets.arn
}

output "jwt_secret_arn" {
  description = "ARN of the JWT HMAC secret (the value is never an output)."
  value       = aws_secretsmanager_secret.jwt.arn
}

output "workload_role_arns" {
  description = "IAM role of each workload's service account."
  value       = { for key, role in aws_iam_role.workload : key => role.arn }
}
