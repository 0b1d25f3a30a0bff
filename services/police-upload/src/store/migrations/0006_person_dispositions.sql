-- Person dispositions by ID number: target 'id_number', target_feature the ID number encrypted
-- with the platform's field cipher (DATA_KEYS; aad 'disposition:<id>'), never in clear. The
-- recorded request of such a command carries the masked number.
COMMENT ON COLUMN disposition.target_feature IS
  'plate number in clear, or (target id_number) the ID number encrypted with DATA_KEYS';
