-- raw.catalogue_settings holds exactly one row; the expected grid cross-joins it.
select count(*) as n_rows
from {{ ref('stg_catalogue__settings') }}
having count(*) <> 1
