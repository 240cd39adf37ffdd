"""The doors districts deliver through, before the archive.

- the inbox folder (or object store) that :mod:`ingest.archive.store` scans: ``inbox/<unit>/<file>``;
- the department's mailbox (:mod:`ingest.doors.mailbox`): e-mails pulled over IMAP, each attachment that is a
  spreadsheet (:mod:`ingest.doors.attachments`) taken as a file of the unit whose registered address sent it
  (:mod:`ingest.doors.senders`), each message answered once (:mod:`ingest.doors.receipts`);
- the upload page (:mod:`ingest.doors.upload`): a web application beside Airflow where a unit's account uploads
  a report, gets the parser's and the rules' verdict in seconds, and the file is put in its unit's inbox folder;

Every door ends in the same archive, ledger, validation and marts: what a door adds is who sent a file and when it
arrived, never another way of reading it.
"""
