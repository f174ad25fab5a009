PRIMARY KEY (org_id, gram, membership_id) INCLUDE (near)
)
