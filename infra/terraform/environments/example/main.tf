# An InsightLite environment: MSK, the S3 archive, ClickHouse Cloud and an EKS
# cluster running the collector, the query API and the flow workers.
#
# A new environment is applied twice (infra/terraform/README.md):
#   terraform apply -var platform_ready=false   # AWS and ClickHouse resources, the cluster
#   terraform apply                              # topics, secrets sync, jobs, workloads

locals {
  tags = merge(var.tags, {
    application = "insightlite"
    environment = var.environment
  })
}

module "kafka" {
  source = "../../modules/kafka"

  name                   = var.name
  vpc_id                 = var.vpc_id
  subnet_ids             = var.private_subnet_ids
  client_security_groups = { eks = module.compute.cluster_security_group_id }
  client_cidr_blocks     = var.kafka_admin_cidrs
  broker_instance_type   = var.kafka_broker_instance_type
  broker_volume_gib      = var.kafka_broker_volume_gib

  create_topics            = var.platform_ready
  topic_partitions         = var.kafka_topic_partitions
  topic_replication_factor = var.kafka_topic_replication_factor
  topic_retention_ms       = var.kafka_topic_retention_ms

  tags = local.tags
}

module "archive" {
  source = "../../modules/archive"

  bucket_name                 = var.archive_bucket_name
  prefix                      = "insightlite"
  dead_letter_expiration_days = var.dead_letter_expiration_days
  replay_expiration_days      = var.replay_expiration_days

  tags = local.tags
}

module "clickhouse" {
  source = "../../modules/clickhouse"

  name         = var.name
  cloud_region = var.region
  ip_access = concat(
    [for ip in var.nat_gateway_public_ips : { source = ip, description = "EKS egress (NAT gateway)" }],
    [for cidr in var.clickhouse_operator_cidrs : { source = cidr, description = "operators" }],
  )
  idle_scaling          = var.clickhouse_idle_scaling
  idle_timeout_minutes  = var.clickhouse_idle_timeout_minutes
  min_replica_memory_gb = var.clickhouse_min_replica_memory_gb
  max_replica_memory_gb = var.clickhouse_max_replica_memory_gb
  secrets_kms_key_arn   = module.compute.secrets_kms_key_arn

  deploy_schema_job = var.platform_ready
  namespace         = module.compute.namespace
  image             = var.image
  oidc_provider_arn = module.compute.oidc_provider_arn
  oidc_issuer       = module.compute.oidc_issuer

  tags = local.tags
}

module "compute" {
  source = "../../modules/compute"

  name                              = var.name
  vpc_id                            = var.vpc_id
  subnet_ids                        = var.private_subnet_ids
  endpoint_public_access_cidrs      = var.eks_endpoint_public_access_cidrs
  external_secrets_chart_repository = var.external_secrets_chart_repository

  deploy_workloads          = var.platform_ready
  image                     = var.image
  collector_certificate_arn = var.collector_certificate_arn
  api_certificate_arn       = var.api_certificate_arn
  api_source_cidrs          = var.api_source_cidrs
  worker_replicas           = var.worker_replicas
  jwt                       = var.jwt
  visitor_key_store_url     = var.visitor_key_store_url
  # One number for the recordings: the bucket's lifecycle above and the tables' TTL.
  settings = merge(var.settings, {
    INSIGHTLITE_REPLAY_RETENTION_DAYS = tostring(var.replay_expiration_days)
  })

  kafka = {
    bootstrap_servers  = module.kafka.bootstrap_brokers_sasl_scram
    username           = module.kafka.scram_username
    secret_arn         = module.kafka.scram_secret_arn
    secret_name        = module.kafka.scram_secret_name
    kms_key_arn        = module.kafka.kms_key_arn
    topic_prefix       = ""
    partitions         = var.kafka_topic_partitions
    replication_factor = var.kafka_topic_replication_factor
    retention_hours    = var.kafka_topic_retention_ms / 3600000
  }

  clickhouse = {
    secret_arn  = module.clickhouse.secret_arn
    secret_name = module.clickhouse.secret_name
    database    = module.clickhouse.database
  }
  schema_job_name = module.clickhouse.schema_job_name

  archive = {
    bucket_name = module.archive.bucket_name
    bucket_arn  = module.archive.bucket_arn
    prefix      = module.archive.prefix
    kms_key_arn = module.archive.kms_key_arn
    archive_url = module.archive.archive_url
  }

  tags = local.tags
}
