"""Rate limits: each rule declared once, reservation windows, the limiter (memory or Redis)."""
