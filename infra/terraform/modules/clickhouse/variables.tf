variable "name" {
  description = "Name of the ClickHouse Cloud service and prefix of the secret and IAM role."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "cloud_region" {
  description = "AWS region of the ClickHouse Cloud service; the same as the pipeline's keeps traffic in-region."
  type        = string
}

variable "ip_access" {
  description = "Addresses allowed to connect (ClickHouse Cloud IP access list): the NAT gateways' public IPs of the cluster, the operators' networks. No default: the service is never open to the internet."
  type = list(object({
    source      = string
    description = string
  }))

  validation {
    condition     = length(var.ip_access) > 0
    error_message = "ip_access must list at least one address or network."
  }

  validation {
    condition     = alltrue([for entry in var.ip_access : !contains(["0.0.0.0/0", "::/0", "0.0.0.0"], entry.source) && can(cidrhost(strcontains(entry.source, "/") ? entry.source : "${entry.source}/32", 0))])
    error_message = "ip_access sources must be addresses or CIDR blocks, never 0.0.0.0/0."
  }
}

variable "idle_scaling" {
  description = "Let the service scale to zero when no query or insert ran for idle_timeout_minutes (the workers insert continuously while traffic flows)."
  type        = bool
  default     = true
}

variable "idle_timeout_minutes" {
  description = "Minutes without activity before the service idles (at least 5)."
  type        = number
  default     = 15

  validation {
    condition     = var.idle_timeout_minutes >= 5
    error_message = "idle_timeout_minutes must be at least 5."
  }
}

variable "min_replica_memory_gb" {
  description = "Smallest memory of one replica while autoscaling, GB (a multiple of 4, at least 8)."
  type        = number
  default     = 8

  validation {
    condition     = var.min_replica_memory_gb >= 8 && var.min_replica_memory_gb % 4 == 0
    error_message = "min_replica_memory_gb must be a multiple of 4 and at least 8."
  }
}

variable "max_replica_memory_gb" {
  description = "Largest memory of one replica while autoscaling, GB (a multiple of 4)."
  type        = number
  default     = 32

  validation {
    condition     = var.max_replica_memory_gb >= 8 && var.max_replica_memory_gb % 4 == 0 && var.max_replica_memory_gb <= 236
    error_message = "max_replica_memory_gb must be a multiple of 4 between 8 and 236."
  }
}

variable "database" {
  description = "Database of the InsightLite tables (INSIGHTLITE_CLICKHOUSE_DATABASE)."
  type        = string
  default     = "insightlite"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*$", var.database))
    error_message = "database must be an identifier."
  }
}

variable "secrets_kms_key_arn" {
  description = "Customer-managed KMS key encrypting the credentials secret (modules/compute secrets_kms_key_arn)."
  type        = string
}

# --- The schema job -----------------------------------------------------------

variable "deploy_schema_job" {
  description = "Run `insightlite schema apply` as a Kubernetes Job (needs the cluster and the External Secrets CRDs at plan time, as the compute module's workloads do)."
  type        = bool
  default     = true
}

variable "namespace" {
  description = "Namespace of the InsightLite workloads (modules/compute namespace output)."
  type        = string
}

variable "image" {
  description = "The InsightLite image, by digest."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[a-f0-9]{64}$", var.image))
    error_message = "image must be a repository reference pinned by digest: registry/repository@sha256:<64 hex>."
  }
}

variable "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster (IRSA) for the job's service account."
  type        = string
}

variable "oidc_issuer" {
  description = "OIDC issuer of the cluster without https://."
  type        = string
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
}
