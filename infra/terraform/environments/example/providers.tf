provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

# The ClickHouse Cloud API key comes from the environment of whoever runs
# Terraform (CLICKHOUSE_ORG_ID, CLICKHOUSE_TOKEN_KEY, CLICKHOUSE_TOKEN_SECRET),
# never from a variable or a file in the repository.
provider "clickhouse" {}

provider "kubernetes" {
  host                   = module.compute.cluster_endpoint
  cluster_ca_certificate = base64decode(module.compute.cluster_certificate_authority)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.compute.cluster_name, "--region", var.region]
  }
}

provider "helm" {
  kubernetes {
    host                   = module.compute.cluster_endpoint
    cluster_ca_certificate = base64decode(module.compute.cluster_certificate_authority)

    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.compute.cluster_name, "--region", var.region]
    }
  }
}

# Read at plan/apply time and never stored: the topics are created as the
# pipeline's SCRAM user. Terraform must run where the brokers are reachable (in
# the VPC, or through a VPN).
ephemeral "aws_secretsmanager_secret_version" "kafka" {
  secret_id = module.kafka.scram_secret_arn
}

provider "kafka" {
  bootstrap_servers = split(",", module.kafka.bootstrap_brokers_sasl_scram)
  tls_enabled       = true
  skip_tls_verify   = false
  sasl_mechanism    = "scram-sha512"
  sasl_username     = module.kafka.scram_username
  sasl_password     = jsondecode(ephemeral.aws_secretsmanager_secret_version.kafka.secret_string)["password"]
}
