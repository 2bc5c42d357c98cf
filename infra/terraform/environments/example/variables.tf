variable "region" {
  description = "AWS region of the whole environment (and of the ClickHouse Cloud service)."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  description = "Name of the environment's resources (cluster, MSK, ClickHouse service, secrets prefix)."
  type        = string
  default     = "insightlite"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "environment" {
  description = "Environment tag (production, staging, ...)."
  type        = string
  default     = "example"
}

variable "platform_ready" {
  description = "False for the first apply of a new environment: creates the AWS and ClickHouse resources and the cluster, but not the Kafka topics, the Kubernetes objects or the jobs, whose providers need the brokers, the cluster and its CRDs at plan time. True (the default) afterwards."
  type        = bool
  default     = true
}

variable "vpc_id" {
  description = "VPC of the environment."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "private_subnet_ids" {
  description = "Three private subnets in three availability zones (MSK brokers, EKS nodes), with NAT gateways for egress."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) == 3 && alltrue([for id in var.private_subnet_ids : startswith(id, "subnet-")])
    error_message = "private_subnet_ids must be three subnet ids."
  }
}

variable "nat_gateway_public_ips" {
  description = "Public IPs of the VPC's NAT gateways: the only addresses, with clickhouse_operator_cidrs, ClickHouse Cloud accepts."
  type        = list(string)

  validation {
    condition     = length(var.nat_gateway_public_ips) > 0 && alltrue([for ip in var.nat_gateway_public_ips : can(cidrhost("${ip}/32", 0))])
    error_message = "nat_gateway_public_ips must list IPv4 addresses."
  }
}

variable "clickhouse_operator_cidrs" {
  description = "Networks of the operators allowed to query ClickHouse directly (office, VPN)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.clickhouse_operator_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "clickhouse_operator_cidrs must be CIDR blocks, never 0.0.0.0/0."
  }
}

variable "kafka_admin_cidrs" {
  description = "Private networks (VPN, CI runners) allowed to reach the brokers, e.g. where Terraform runs to create the topics."
  type        = list(string)
  default     = []
}

variable "eks_endpoint_public_access_cidrs" {
  description = "Networks allowed to reach the Kubernetes API from outside the VPC; empty keeps it private."
  type        = list(string)
  default     = []
}

variable "external_secrets_chart_repository" {
  description = "Helm repository of the External Secrets Operator chart; null when the cluster already runs the operator."
  type        = string
  default     = null
}

variable "image" {
  description = "The InsightLite image by digest (registry/repository@sha256:...), built from the repository's Dockerfile."
  type        = string
}

variable "collector_certificate_arn" {
  description = "ACM certificate of the collector's public host name."
  type        = string
}

variable "api_certificate_arn" {
  description = "ACM certificate of the query API's host name."
  type        = string
}

variable "api_source_cidrs" {
  description = "Networks allowed to reach the query API's (internal) load balancer."
  type        = list(string)
}

variable "jwt" {
  description = "JWT verification of the query API: algorithms, audience, issuer and PEM public keys (two during a key rotation)."
  type = object({
    algorithms  = list(string)
    audience    = string
    issuer      = string
    public_keys = list(string)
  })
}

variable "visitor_key_store_url" {
  description = "The Redis (redis[s]://host[:port][/db], VPC-internal, no persistence) that keeps the daily visitor-hash keys of every collector and worker."
  type        = string
}

variable "settings" {
  description = "Extra non-secret INSIGHTLITE_* settings for every container."
  type        = map(string)
  default     = {}

  validation {
    condition     = !contains(keys(var.settings), "INSIGHTLITE_REPLAY_RETENTION_DAYS")
    error_message = "set replay_expiration_days instead of INSIGHTLITE_REPLAY_RETENTION_DAYS: it also expires the recordings in the bucket."
  }
}

variable "worker_replicas" {
  description = "Fewest and most flow worker processes; max at most kafka_topic_partitions."
  type        = object({ min = number, max = number })
  default     = { min = 3, max = 12 }
}

variable "archive_bucket_name" {
  description = "Globally unique name of the archive bucket."
  type        = string
}

variable "dead_letter_expiration_days" {
  description = "Days the dead-letter files are kept in the archive (keep INSIGHTLITE_DEAD_LETTER_RETENTION_DAYS the same)."
  type        = number
  default     = 30
}

variable "replay_expiration_days" {
  description = "Days a session recording is kept after its last event: the lifecycle of the archive's replays/ objects and INSIGHTLITE_REPLAY_RETENTION_DAYS (the ClickHouse TTL) of every container."
  type        = number
  default     = 30

  validation {
    condition     = var.replay_expiration_days >= 1 && var.replay_expiration_days <= 3650
    error_message = "replay_expiration_days must be between 1 and 3650."
  }
}

variable "kafka_broker_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.m7g.large"
}

variable "kafka_broker_volume_gib" {
  description = "EBS storage per broker, GiB."
  type        = number
  default     = 500
}

variable "kafka_topic_partitions" {
  description = "Partitions of each topic: the most worker processes that do useful work."
  type        = number
  default     = 12
}

variable "kafka_topic_replication_factor" {
  description = "Replicas of each topic partition."
  type        = number
  default     = 3
}

variable "kafka_topic_retention_ms" {
  description = "Retention of each topic (7 days): how far back a replay can reach."
  type        = number
  default     = 604800000

  validation {
    condition     = var.kafka_topic_retention_ms % 3600000 == 0
    error_message = "kafka_topic_retention_ms must be whole hours (INSIGHTLITE_KAFKA_RETENTION_HOURS)."
  }
}

variable "clickhouse_idle_scaling" {
  description = "Let the ClickHouse service idle when unused."
  type        = bool
  default     = true
}

variable "clickhouse_idle_timeout_minutes" {
  description = "Minutes of inactivity before ClickHouse idles."
  type        = number
  default     = 15
}

variable "clickhouse_min_replica_memory_gb" {
  description = "Smallest ClickHouse replica memory, GB."
  type        = number
  default     = 8
}

variable "clickhouse_max_replica_memory_gb" {
  description = "Largest ClickHouse replica memory, GB."
  type        = number
  default     = 32
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
