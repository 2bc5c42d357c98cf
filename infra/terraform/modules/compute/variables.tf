# --- Cluster ------------------------------------------------------------------

variable "name" {
  description = "Name of the EKS cluster (or of the existing one) and prefix of the IAM roles, KMS aliases and secrets."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "create_cluster" {
  description = "Create the EKS cluster and its node group; false deploys into the existing cluster called `name` (give existing_oidc_provider_arn)."
  type        = bool
  default     = true
}

variable "existing_oidc_provider_arn" {
  description = "IAM OIDC provider of the existing cluster (IRSA), when create_cluster is false."
  type        = string
  default     = ""

  validation {
    condition     = var.existing_oidc_provider_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/", var.existing_oidc_provider_arn))
    error_message = "existing_oidc_provider_arn must be an IAM OIDC provider ARN."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes version of the created cluster."
  type        = string
  default     = "1.33"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.33."
  }
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the cluster and its nodes, in at least two availability zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids needs subnets in at least two availability zones."
  }
}

variable "endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the Kubernetes API from outside the VPC; empty keeps the endpoint private (Terraform then runs from inside the VPC)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.endpoint_public_access_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "endpoint_public_access_cidrs must be valid CIDR blocks and never 0.0.0.0/0."
  }
}

variable "node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["m7i.xlarge"]
}

variable "node_min_size" {
  description = "Fewest nodes of the managed node group."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Most nodes (room for the autoscaled collectors, APIs and workers)."
  type        = number
  default     = 12
}

variable "node_desired_size" {
  description = "Nodes at creation; the cluster autoscaler or Karpenter, if installed, moves it afterwards."
  type        = number
  default     = 4
}

variable "log_retention_days" {
  description = "Days the control-plane logs stay in CloudWatch."
  type        = number
  default     = 365
}

variable "external_secrets_chart_repository" {
  description = "Helm repository serving the External Secrets Operator chart (its project's repository or your mirror). Null: the operator is already installed in the cluster and is not managed here."
  type        = string
  default     = null
}

variable "external_secrets_chart_version" {
  description = "Version of the External Secrets Operator chart (serves external-secrets.io/v1)."
  type        = string
  default     = "0.19.2"
}

# --- Workloads ----------------------------------------------------------------

variable "deploy_workloads" {
  description = "Apply the Kubernetes objects. False for the first apply of a new cluster: kubernetes_manifest needs the cluster and the External Secrets CRDs to exist at plan time."
  type        = bool
  default     = true
}

variable "namespace" {
  description = "Namespace of the InsightLite workloads."
  type        = string
  default     = "insightlite"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label."
  }
}

variable "image" {
  description = "The InsightLite image, by digest (registry/repository@sha256:...), so every pod of a release runs the same bits."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[a-f0-9]{64}$", var.image))
    error_message = "image must be a repository reference pinned by digest: registry/repository@sha256:<64 hex>."
  }
}

variable "collector_certificate_arn" {
  description = "ACM certificate of the collector's public host name (TLS ends at the load balancer)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.collector_certificate_arn))
    error_message = "collector_certificate_arn must be an ACM certificate ARN."
  }
}

variable "api_certificate_arn" {
  description = "ACM certificate of the query API's host name."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.api_certificate_arn))
    error_message = "api_certificate_arn must be an ACM certificate ARN."
  }
}

variable "api_internal" {
  description = "Keep the query API's load balancer internal to the VPC."
  type        = bool
  default     = true
}

variable "api_source_cidrs" {
  description = "CIDR blocks allowed to reach the query API's load balancer."
  type        = list(string)

  validation {
    condition     = length(var.api_source_cidrs) > 0 && alltrue([for cidr in var.api_source_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "api_source_cidrs must list valid CIDR blocks, never 0.0.0.0/0."
  }
}

variable "collector_replicas" {
  description = "Fewest and most collector pods (CPU-based autoscaling)."
  type        = object({ min = number, max = number })
  default     = { min = 2, max = 10 }

  validation {
    condition     = var.collector_replicas.min >= 2 && var.collector_replicas.max >= var.collector_replicas.min
    error_message = "collector_replicas needs min >= 2 (one per zone survives a drain) and max >= min."
  }
}

variable "api_replicas" {
  description = "Fewest and most query API pods (CPU-based autoscaling)."
  type        = object({ min = number, max = number })
  default     = { min = 2, max = 6 }

  validation {
    condition     = var.api_replicas.min >= 1 && var.api_replicas.max >= var.api_replicas.min
    error_message = "api_replicas needs min >= 1 and max >= min."
  }
}

variable "worker_replicas" {
  description = "Fewest and most flow worker processes (autoscaled on consumer lag and CPU). max must not exceed the raw_events partitions: a process beyond them reads nothing."
  type        = object({ min = number, max = number })
  default     = { min = 3, max = 12 }

  validation {
    condition     = var.worker_replicas.min >= 1 && var.worker_replicas.max >= var.worker_replicas.min
    error_message = "worker_replicas needs min >= 1 and max >= min."
  }
}

variable "worker_lag_target" {
  description = "Unread raw_events records per worker the autoscaler aims at."
  type        = number
  default     = 50000
}

variable "worker_volume_gib" {
  description = "Size of each worker's recovery volume (worker 0 holds the whole recovery store)."
  type        = number
  default     = 20
}

variable "snapshot_seconds" {
  description = "INSIGHTLITE_SNAPSHOT_SECONDS: how often the workers snapshot their state (and the farthest a resume goes back)."
  type        = number
  default     = 10
}

variable "backup_seconds" {
  description = "INSIGHTLITE_BACKUP_SECONDS: how long superseded snapshots are kept; longer than the volume-snapshot backup interval."
  type        = number
  default     = 3600
}

variable "settings" {
  description = "Extra non-secret INSIGHTLITE_* settings for every container (e.g. INSIGHTLITE_SITE_ALLOWLIST). Secrets are never set here."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.settings) : can(regex("^INSIGHTLITE_[A-Z0-9_]+$", key))])
    error_message = "settings keys must be INSIGHTLITE_* variable names."
  }

  validation {
    condition     = alltrue([for key in keys(var.settings) : !can(regex("(SECRET|PASSWORD|CLICKHOUSE_URL|PRIVATE)", key))])
    error_message = "secrets come from Secrets Manager, never from settings."
  }
}

variable "jwt" {
  description = "How the query API verifies bearer tokens: algorithms, audience, issuer and the PEM public keys (one or two: two while a signing key rotates). HS* algorithms use the generated HMAC key in Secrets Manager instead."
  type = object({
    algorithms  = list(string)
    audience    = string
    issuer      = string
    public_keys = list(string)
  })

  validation {
    condition     = length(var.jwt.algorithms) > 0 && alltrue([for alg in var.jwt.algorithms : contains(["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA", "HS256", "HS384", "HS512"], alg)])
    error_message = "jwt.algorithms must list JWS algorithms such as RS256, ES256 or HS256 (never none)."
  }

  validation {
    condition     = length(var.jwt.public_keys) <= 2 && alltrue([for key in var.jwt.public_keys : startswith(trimspace(key), "-----BEGIN PUBLIC KEY-----")])
    error_message = "jwt.public_keys holds at most two PEM public keys (never a private key)."
  }
}

variable "visitor_key_store_url" {
  description = "INSIGHTLITE_VISITOR_KEY_STORE: the Redis every collector and worker keeps the random daily visitor-hash keys in (a VPC-internal endpoint, without credentials). Keys are destroyed after INSIGHTLITE_VISITOR_KEY_RETENTION_HOURS; run it without persistence to disk, so that a destroyed key leaves no copy."
  type        = string

  validation {
    condition     = can(regex("^rediss?://[^:@/]+(:[0-9]+)?(/[0-9]+)?$", var.visitor_key_store_url))
    error_message = "visitor_key_store_url must be redis[s]://host[:port][/db] without a user or password."
  }
}

variable "redis_url" {
  description = "INSIGHTLITE_REDIS_URL of the query API's cache, without credentials (a VPC-internal endpoint); empty runs without it."
  type        = string
  default     = ""

  validation {
    condition     = var.redis_url == "" || can(regex("^rediss?://[^:@/]+(:[0-9]+)?(/[0-9]+)?$", var.redis_url))
    error_message = "redis_url must be redis[s]://host[:port][/db] without a user or password."
  }
}

# --- What the workloads connect to ----------------------------------------------

variable "kafka" {
  description = "The MSK cluster: SASL/SCRAM bootstrap servers, user name, the ARN and name of its credentials secret and the KMS key of that secret, topic settings."
  type = object({
    bootstrap_servers  = string
    username           = string
    secret_arn         = string
    secret_name        = string
    kms_key_arn        = string
    topic_prefix       = string
    partitions         = number
    replication_factor = number
    retention_hours    = number
  })
}

variable "clickhouse" {
  description = "The ClickHouse credentials secret (JSON with a `url` key) and the database."
  type = object({
    secret_arn  = string
    secret_name = string
    database    = string
  })
}

# Its own variable, not a field of `clickhouse`: Terraform treats an object
# variable as one node, and the schema job itself waits for this module's
# namespace, so folding it in would make a dependency cycle.
variable "schema_job_name" {
  description = "Name of the completed ClickHouse schema job (modules/clickhouse schema_job_name): the workers are applied after it."
  type        = string
}

variable "archive" {
  description = "The archive bucket, its key prefix and KMS key (modules/archive outputs)."
  type = object({
    bucket_name = string
    bucket_arn  = string
    prefix      = string
    kms_key_arn = string
    archive_url = string
  })
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
}
