"""Organizations: members with a role each, invitations by e-mail, the active organization."""
