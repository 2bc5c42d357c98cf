terraform {
  # Ephemeral resources (1.10) keep the Kafka password out of the plan and state.
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    clickhouse = {
      source  = "ClickHouse/clickhouse"
      version = "~> 3.3"
    }
    kafka = {
      source  = "Mongey/kafka"
      version = "~> 0.8"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.35"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 2.17"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.0"
    }
  }

  # The state holds generated secrets: keep it in an encrypted, versioned bucket
  # only the deployers can read. Given at init time:
  #   terraform init -backend-config=bucket=... -backend-config=key=insightlite/example.tfstate \
  #     -backend-config=region=... -backend-config=encrypt=true -backend-config=use_lockfile=true
  backend "s3" {}
}
