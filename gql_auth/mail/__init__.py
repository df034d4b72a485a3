"""Mail: the sender (SMTP or the log) and the templates of what each mail says."""
