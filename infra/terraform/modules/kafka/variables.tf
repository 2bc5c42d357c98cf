variable "name" {
  description = "Name of the MSK cluster and prefix of its companion resources (KMS alias, log group, secret)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC the brokers run in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the brokers, one per availability zone (3 for 3 brokers)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) == 3
    error_message = "MSK spreads the 3 brokers over exactly 3 subnets in 3 availability zones."
  }
}

variable "client_security_groups" {
  description = "Security groups allowed to reach the brokers' SASL/SCRAM TLS port 9096, by a name known at plan time (e.g. { eks = <cluster security group id> }): the ids themselves may only be known after apply."
  type        = map(string)
  default     = {}
}

variable "client_cidr_blocks" {
  description = "CIDR blocks allowed to reach port 9096, for clients without a security group (VPN, peered VPCs). Keep it private."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.client_cidr_blocks : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "client_cidr_blocks must be valid CIDR blocks and never 0.0.0.0/0."
  }
}

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster."
  type        = string
  default     = "3.8.x"
}

variable "broker_instance_type" {
  description = "Instance type of each of the 3 brokers."
  type        = string
  default     = "kafka.m7g.large"

  validation {
    condition     = startswith(var.broker_instance_type, "kafka.")
    error_message = "broker_instance_type must be an MSK instance type (kafka.*)."
  }
}

variable "broker_volume_gib" {
  description = "EBS storage per broker, GiB. Three days of peak raw events times the replication factor, plus headroom."
  type        = number
  default     = 500

  validation {
    condition     = var.broker_volume_gib >= 1 && var.broker_volume_gib <= 16384
    error_message = "broker_volume_gib must be between 1 and 16384."
  }
}

variable "log_retention_days" {
  description = "Days the broker logs stay in CloudWatch."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "scram_username" {
  description = "SASL/SCRAM user the pipeline (collector, workers, init job) connects as; its password is generated and kept in Secrets Manager."
  type        = string
  default     = "insightlite"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.scram_username))
    error_message = "scram_username must be 1-64 of A-Za-z0-9_.-."
  }
}

variable "create_topics" {
  description = "Create the five topics with the Mongey/kafka provider. Needs network reach to the brokers from where Terraform runs; set false to let the `insightlite kafka init` job create them instead."
  type        = bool
  default     = true
}

variable "topic_prefix" {
  description = "Prefix of the topic names, the same as INSIGHTLITE_KAFKA_TOPIC_PREFIX."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{0,100}$", var.topic_prefix))
    error_message = "topic_prefix must be at most 100 of A-Za-z0-9._-."
  }
}

variable "topic_partitions" {
  description = "Partitions of each topic (INSIGHTLITE_KAFKA_PARTITIONS). Bounds the number of useful worker processes; raising it later moves sessions between partitions."
  type        = number
  default     = 12

  validation {
    condition     = var.topic_partitions >= 1 && var.topic_partitions <= 1000
    error_message = "topic_partitions must be between 1 and 1000."
  }
}

variable "topic_replication_factor" {
  description = "Replicas of each topic partition (INSIGHTLITE_KAFKA_REPLICATION); 3 keeps a topic writable with one broker down (min.insync.replicas = 2)."
  type        = number
  default     = 3

  validation {
    condition     = var.topic_replication_factor >= 1 && var.topic_replication_factor <= 3
    error_message = "topic_replication_factor must be between 1 and 3 (the cluster has 3 brokers)."
  }
}

variable "topic_retention_ms" {
  description = "Retention of each topic in milliseconds (INSIGHTLITE_KAFKA_RETENTION_HOURS x 3600000). 7 days: the window a replay or a dead-letter reprocessing can reach back."
  type        = number
  default     = 604800000

  validation {
    condition     = var.topic_retention_ms >= 3600000
    error_message = "topic_retention_ms must be at least one hour."
  }
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
}

variable "replay_max_message_bytes" {
  description = "max.message.bytes of the replay_events topic: the collector's largest replay record (INSIGHTLITE_COLLECTOR_REPLAY_MAX_CHUNK_BYTES + 64 KiB) with batch overhead; `insightlite kafka create-topics` sets the same value (8552833 for the default 8 MiB chunk limit)."
  type        = number
  default     = 8552833

  validation {
    condition     = var.replay_max_message_bytes >= 1048588
    error_message = "replay_max_message_bytes must be at least Kafka's default of 1048588."
  }
}
