# The application secret generated here and kept in Secrets Manager: the HMAC key
# of HS* JWTs. (Visitor hashes use random daily keys kept in Redis and destroyed after
# their retention: there is no long-lived secret they derive from.) Its value lives
# in the Terraform state (as every generated secret does): keep the state in an
# encrypted, access-controlled backend. It is never an output.

resource "random_password" "jwt" {
  length  = 64
  special = false
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
