-- The period dimension must start no later than the catalogue's reporting_start, otherwise early expected
-- reports would silently drop out of fct_submission. Fix: lower var period_spine_start.
select settings.reporting_start, min(periods.period_start) as first_period_start
from {{ ref('stg_catalogue__settings') }} as settings
cross join {{ ref('int_periods_spined') }} as periods
group by settings.reporting_start
having min(periods.period_start) > settings.reporting_start
