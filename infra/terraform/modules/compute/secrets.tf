# Application secrets generated here and kept in Secrets Manager: the key the
# daily IP-hash keys derive from, and the HMAC key of HS* JWTs. Their values live
# in the Terraform state (as every generated secret does): keep the state in an
# encrypted, access-controlled backend. They are never outputs.

resource "random_password" "ip_hash" {
  length  = 64
  special = false
}

resource "random_password" "jwt" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "ip_hash" {
  #checkov:skip=CKV2_AWS_57:Rotating this secret changes every IP hash from the rotation day on; it is rotated by hand (docs/operations.md), never on a schedule.
  name                    = "${var.name}/ip-hash-secret"
  description             = "INSIGHTLITE_IP_HASH_SECRET: the daily IP-hash keys derive from it"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "ip_hash" {
  secret_id     = aws_secretsmanager_secret.ip_hash.id
  secret_string = random_password.ip_hash.result

  # A rotation is an operator's decision (docs/operations.md): a new value put in
  # Secrets Manager by hand must not be reverted by the next apply.
  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_secretsmanager_secret" "jwt" {
  #checkov:skip=CKV2_AWS_57:The HMAC key is shared with the token issuer; it is rotated by hand with an overlap (docs/operations.md).
  name                    = "${var.name}/jwt-secret"
  description             = "INSIGHTLITE_JWT_SECRET: HMAC key of the query API's HS* tokens"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "jwt" {
  secret_id     = aws_secretsmanager_secret.jwt.id
  secret_string = random_password.jwt.result

  lifecycle {
    ignore_changes = [secret_string]
  }
}
