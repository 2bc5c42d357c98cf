# The Kubernetes objects, from the plain YAML templates in infra/k8s (see the
# README there). Each file is split into its documents before rendering, so the
# for_each keys are known at plan time; each document is rendered with
# templatestring() and applied with kubernetes_manifest (server-side apply).
#
# Order: namespace and shared settings, then the kafka init job (Terraform waits
# for it to complete), then workers (after the ClickHouse module's schema job),
# then the collector, then the query API.

locals {
  k8s_dir = "${path.module}/../../../k8s"

  # Short hash of the image: the jobs' names change with each release, which
  # makes them run again.
  release = substr(sha256(var.image), 0, 8)

  config_data = merge(
    {
      INSIGHTLITE_LOG_FORMAT              = "json"
      INSIGHTLITE_LOG_LEVEL               = "INFO"
      INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS = var.kafka.bootstrap_servers
      INSIGHTLITE_KAFKA_SECURITY_PROTOCOL = "SASL_SSL"
      INSIGHTLITE_KAFKA_SASL_MECHANISM    = "SCRAM-SHA-512"
      INSIGHTLITE_KAFKA_SASL_USERNAME     = var.kafka.username
      INSIGHTLITE_KAFKA_TOPIC_PREFIX      = var.kafka.topic_prefix
      INSIGHTLITE_KAFKA_PARTITIONS        = tostring(var.kafka.partitions)
      INSIGHTLITE_KAFKA_REPLICATION       = tostring(var.kafka.replication_factor)
      INSIGHTLITE_KAFKA_RETENTION_HOURS   = tostring(var.kafka.retention_hours)
      INSIGHTLITE_CLICKHOUSE_DATABASE     = var.clickhouse.database
      INSIGHTLITE_ARCHIVE_URL             = var.archive.archive_url
      # The random daily visitor-hash keys, shared by every collector and worker.
      INSIGHTLITE_VISITOR_KEY_STORE = var.visitor_key_store_url
      # Dead letters' payloads and recordings: per-site data keys wrapped by the
      # archive's KMS key (called directly, with the site as encryption context).
      INSIGHTLITE_CRYPTO_MASTER     = "kms"
      INSIGHTLITE_CRYPTO_KMS_KEY_ID = var.archive.kms_key_arn
      INSIGHTLITE_CRYPTO_KMS_REGION = local.region
    },
    var.settings,
  )

  api_config = {
    INSIGHTLITE_JWT_ALGORITHMS = join(",", var.jwt.algorithms)
    INSIGHTLITE_JWT_AUDIENCE   = var.jwt.audience
    INSIGHTLITE_JWT_ISSUER     = var.jwt.issuer
    # Two PEM blocks one after the other while a signing key rotates.
    INSIGHTLITE_JWT_PUBLIC_KEY = join("\n", [for key in var.jwt.public_keys : trimspace(key)])
    INSIGHTLITE_REDIS_URL      = var.redis_url
  }

  manifest_vars = {
    namespace                 = var.namespace
    image                     = var.image
    aws_region                = local.region
    config_data_json          = jsonencode(local.config_data)
    api_config_json           = jsonencode(local.api_config)
    collector_role_arn        = aws_iam_role.workload["collector"].arn
    api_role_arn              = aws_iam_role.workload["api"].arn
    worker_role_arn           = aws_iam_role.workload["worker"].arn
    kafka_init_role_arn       = aws_iam_role.workload["kafka_init"].arn
    kafka_secret_name         = var.kafka.secret_name
    clickhouse_secret_name    = var.clickhouse.secret_name
    jwt_secret_name           = aws_secretsmanager_secret.jwt.name
    collector_min_replicas    = var.collector_replicas.min
    collector_max_replicas    = var.collector_replicas.max
    api_min_replicas          = var.api_replicas.min
    api_max_replicas          = var.api_replicas.max
    worker_min_replicas       = var.worker_replicas.min
    worker_max_replicas       = var.worker_replicas.max
    worker_lag_target         = var.worker_lag_target
    worker_volume_gib         = var.worker_volume_gib
    recovery_partitions       = var.worker_replicas.max
    snapshot_seconds          = var.snapshot_seconds
    backup_seconds            = var.backup_seconds
    raw_events_topic          = "${var.kafka.topic_prefix}raw_events"
    collector_certificate_arn = var.collector_certificate_arn
    api_certificate_arn       = var.api_certificate_arn
    api_lb_internal           = tostring(var.api_internal)
    api_source_ranges_json    = jsonencode(var.api_source_cidrs)
    peers_script_json         = jsonencode(file("${local.k8s_dir}/files/worker_peers.py"))
    kafka_init_job_name       = "insightlite-kafka-init-${local.release}"
  }

  # file name => { "<file>/<index>" => template text of one document }
  chunks = {
    for name in ["namespace", "platform", "kafka-init", "worker", "collector", "api"] : name => {
      for index, chunk in split("\n---\n", file("${local.k8s_dir}/${name}.yaml")) :
      "${name}/${index}" => chunk if trimspace(chunk) != ""
    }
  }
  kafka_init_job   = { for key, chunk in local.chunks["kafka-init"] : key => chunk if can(regex("(?m)^kind: Job$", chunk)) }
  kafka_init_other = { for key, chunk in local.chunks["kafka-init"] : key => chunk if !can(regex("(?m)^kind: Job$", chunk)) }
}

resource "kubernetes_manifest" "namespace" {
  for_each = var.deploy_workloads ? local.chunks["namespace"] : {}
  manifest = yamldecode(templatestring(each.value, local.manifest_vars))
}

resource "kubernetes_manifest" "platform" {
  for_each = var.deploy_workloads ? local.chunks["platform"] : {}
  manifest = yamldecode(templatestring(each.value, local.manifest_vars))

  depends_on = [kubernetes_manifest.namespace, helm_release.external_secrets]
}

resource "kubernetes_manifest" "kafka_init" {
  for_each = var.deploy_workloads ? local.kafka_init_other : {}
  manifest = yamldecode(templatestring(each.value, local.manifest_vars))

  depends_on = [kubernetes_manifest.platform]
}

resource "kubernetes_manifest" "kafka_init_job" {
  for_each = var.deploy_workloads ? local.kafka_init_job : {}
  manifest = yamldecode(templatestring(each.value, local.manifest_vars))

  wait {
    condition {
      type   = "Complete"
      status = "True"
    }
  }

  timeouts {
    create = "30m"
  }

  depends_on = [kubernetes_manifest.kafka_init]
}

resource "kubernetes_manifest" "worker" {
  for_each = var.deploy_workloads ? local.chunks["worker"] : {}
  manifest = yamldecode(templatestring(each.value, local.manifest_vars))

  # The HPA owns the size (the provider's defaults are kept in the list).
  computed_fields = ["metadata.labels", "metadata.annotations", "spec.replicas"]

  lifecycle {
    precondition {
      condition     = var.schema_job_name != ""
      error_message = "The workers start after the ClickHouse schema job (module clickhouse)."
    }
    precondition {
      condition     = var.worker_replicas.max <= var.kafka.partitions
      error_message = "worker_replicas.max exceeds the raw_events partitions: the extra processes would read nothing."
    }
  }

  depends_on = [kubernetes_manifest.kafka_init_job]
}

resource "kubernetes_manifest" "collector" {
  for_each        = var.deploy_workloads ? local.chunks["collector"] : {}
  manifest        = yamldecode(templatestring(each.value, local.manifest_vars))
  computed_fields = ["metadata.labels", "metadata.annotations", "spec.replicas"]

  depends_on = [kubernetes_manifest.worker]
}

resource "kubernetes_manifest" "api" {
  for_each        = var.deploy_workloads ? local.chunks["api"] : {}
  manifest        = yamldecode(templatestring(each.value, local.manifest_vars))
  computed_fields = ["metadata.labels", "metadata.annotations", "spec.replicas"]

  depends_on = [kubernetes_manifest.collector]
}
