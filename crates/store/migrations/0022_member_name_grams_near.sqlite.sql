PRIMARY KEY (org_id, gram, membership_id)
) WITHOUT ROWID
