with

source as (

    select * from {{ source('district_reports', 'problems') }}

),

renamed as (

    select
        -- ids
        problem_id,
        sha256,
        submission_id,
        load_id,
        -- strings
        file_name,
        folder_unit_code,
        stage,
        severity,
        rule,
        row_code,
        measure,
        source_sheet,
        source_cell,
        value_text,
        message_vi,
        message_en,
        detail

    from source

)

select * from renamed
