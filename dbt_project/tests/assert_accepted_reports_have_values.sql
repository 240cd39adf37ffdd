-- Every report whose chosen submission is accepted has its numbers in fct_indicator_value, and no number comes
-- from a report that is not accepted (e.g. a rejected later version shown as the report's status).
with

accepted_reports as (

    select report_id, submission_id
    from {{ ref('fct_submission') }}
    where status in ('accepted', 'accepted_with_warnings')

),

valued_reports as (

    select distinct report_id, submission_id
    from {{ ref('fct_indicator_value') }}

)

select
    coalesce(accepted_reports.report_id, valued_reports.report_id) as report_id,
    accepted_reports.submission_id as chosen_submission_id,
    valued_reports.submission_id as valued_submission_id
from accepted_reports
full outer join valued_reports
    on valued_reports.report_id = accepted_reports.report_id
where accepted_reports.submission_id is null
    or valued_reports.submission_id is null
    or accepted_reports.submission_id <> valued_reports.submission_id
