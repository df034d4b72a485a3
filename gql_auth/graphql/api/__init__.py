"""The root fields, one module per feature; graphql/schema.py merges them."""
