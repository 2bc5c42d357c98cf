# Amazon MSK for the pipeline: 3 brokers over 3 availability zones, TLS between
# clients and brokers and between brokers, SASL/SCRAM authentication, encryption
# at rest with a customer-managed key, Prometheus exporters and broker logs.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  topics = ["raw_events", "processed_events", "heatmap_updates", "dead_letter", "replay_events"]
  # MSK only associates SCRAM secrets whose name starts with AmazonMSK_.
  scram_secret_name = "AmazonMSK_${var.name}_${var.scram_username}"
}

# One key for the brokers' storage, the SCRAM secret and the broker log group:
# MSK refuses SCRAM secrets encrypted with the AWS-managed Secrets Manager key.
resource "aws_kms_key" "kafka" {
  description             = "${var.name}: MSK storage, SCRAM secret and broker logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # CloudWatch Logs encrypts the broker log group with this key, and only
        # for log groups of this account.
        Sid       = "CloudWatchLogsEncryptsBrokerLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${data.aws_region.current.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:log-group:*"
          }
        }
      },
    ]
  })
  tags = var.tags
}

resource "aws_kms_alias" "kafka" {
  name          = "alias/${var.name}-kafka"
  target_key_id = aws_kms_key.kafka.key_id
}

resource "aws_cloudwatch_log_group" "brokers" {
  name              = "/aws/msk/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.kafka.arn
  tags              = var.tags
}

resource "aws_security_group" "brokers" {
  name        = "${var.name}-msk"
  description = "MSK brokers of ${var.name}: SASL/SCRAM over TLS from the pipeline only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_client_groups" {
  for_each                     = var.client_security_groups
  security_group_id            = aws_security_group.brokers.id
  description                  = "SASL/SCRAM over TLS from ${each.key}"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 9096
  to_port                      = 9096
}

resource "aws_vpc_security_group_ingress_rule" "from_client_cidrs" {
  for_each          = toset(var.client_cidr_blocks)
  security_group_id = aws_security_group.brokers.id
  description       = "SASL/SCRAM over TLS from ${each.value}"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 9096
  to_port           = 9096
}

resource "aws_vpc_security_group_ingress_rule" "prometheus_from_clients" {
  for_each                     = var.client_security_groups
  security_group_id            = aws_security_group.brokers.id
  description                  = "Open monitoring exporters (JMX 11001, node 11002) scraped from ${each.key}"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 11001
  to_port                      = 11002
}

# Brokers talk to each other on the Kafka listener ports only.
resource "aws_vpc_security_group_egress_rule" "brokers_to_brokers" {
  security_group_id            = aws_security_group.brokers.id
  description                  = "Broker to broker on the Kafka listeners"
  referenced_security_group_id = aws_security_group.brokers.id
  ip_protocol                  = "tcp"
  from_port                    = 9092
  to_port                      = 9098
}

resource "aws_vpc_security_group_ingress_rule" "brokers_from_brokers" {
  security_group_id            = aws_security_group.brokers.id
  description                  = "Broker to broker on the Kafka listeners"
  referenced_security_group_id = aws_security_group.brokers.id
  ip_protocol                  = "tcp"
  from_port                    = 9092
  to_port                      = 9098
}

resource "aws_msk_configuration" "this" {
  name           = "${var.name}-config"
  kafka_versions = [var.kafka_version]
  # Topics come from Terraform or `insightlite kafka init`, never from a typo in a
  # producer; unclean elections would drop acknowledged records.
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=3
    min.insync.replicas=2
    num.partitions=${var.topic_partitions}
    unclean.leader.election.enable=false
    delete.topic.enable=true
  PROPERTIES
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = 3

  broker_node_group_info {
    instance_type   = var.broker_instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.brokers.id]

    storage_info {
      ebs_storage_info {
        volume_size = var.broker_volume_gib
      }
    }

    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = aws_kms_key.kafka.arn

    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  client_authentication {
    unauthenticated = false

    sasl {
      scram = true
      iam   = false
    }
  }

  enhanced_monitoring = "PER_TOPIC_PER_PARTITION"

  open_monitoring {
    prometheus {
      jmx_exporter {
        enabled_in_broker = true
      }
      node_exporter {
        enabled_in_broker = true
      }
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.brokers.name
      }
    }
  }

  tags = var.tags
}

# --- SASL/SCRAM credentials ---------------------------------------------------

resource "random_password" "scram" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "scram" {
  #checkov:skip=CKV2_AWS_57:MSK SCRAM secrets cannot rotate automatically; docs/operations.md describes the manual rotation.
  name                    = local.scram_secret_name
  description             = "SASL/SCRAM credentials of ${var.scram_username} on MSK ${var.name}"
  kms_key_id              = aws_kms_key.kafka.arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "scram" {
  secret_id = aws_secretsmanager_secret.scram.id
  secret_string = jsonencode({
    username = var.scram_username
    password = random_password.scram.result
  })
}

resource "aws_msk_scram_secret_association" "this" {
  cluster_arn     = aws_msk_cluster.this.arn
  secret_arn_list = [aws_secretsmanager_secret.scram.arn]

  depends_on = [aws_secretsmanager_secret_version.scram]
}

# MSK reads the secret on behalf of the cluster; only it may.
resource "aws_secretsmanager_secret_policy" "scram" {
  secret_arn = aws_secretsmanager_secret.scram.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AWSKafkaResourcePolicy"
      Effect    = "Allow"
      Principal = { Service = "kafka.amazonaws.com" }
      Action    = "secretsmanager:getSecretValue"
      Resource  = aws_secretsmanager_secret.scram.arn
    }]
  })
}

# --- Topics -----------------------------------------------------------------

resource "kafka_topic" "pipeline" {
  for_each           = var.create_topics ? toset(local.topics) : toset([])
  name               = "${var.topic_prefix}${each.key}"
  partitions         = var.topic_partitions
  replication_factor = var.topic_replication_factor

  config = {
    "retention.ms"        = tostring(var.topic_retention_ms)
    "cleanup.policy"      = "delete"
    "min.insync.replicas" = var.topic_replication_factor >= 3 ? "2" : "1"
    "compression.type"    = "producer"
    # Recording chunks reach 8 MiB decompressed (INSIGHTLITE_COLLECTOR_REPLAY_MAX_CHUNK_BYTES
    # plus the collector's fields and batch overhead); the other topics keep Kafka's default.
    "max.message.bytes" = each.key == "replay_events" ? tostring(var.replay_max_message_bytes) : "1048588"
  }

  depends_on = [aws_msk_scram_secret_association.this]
}
