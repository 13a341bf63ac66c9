import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { DEFINITIONS } from './definitions.js';
import { type IndicatorRow, IndicatorsService, type Period, PERIODS } from './indicators.service.js';

const CODE = /^[A-Za-z0-9._-]{1,100}$/;

export class IndicatorsQueryDto {
  @IsOptional() @IsIn(PERIODS) period?: Period;
  @IsOptional() @Matches(CODE, { message: 'must be an organisation id' }) organisation?: string;
  @IsOptional() @Matches(CODE, { message: 'must be a service id' }) service?: string;
  @IsOptional() @IsIn(['json', 'csv']) format?: 'json' | 'csv';
}

export const DEFINITIONS_PATH = '/v1/indicators/definitions';

/** The columns of the CSV, in order: the JSON rows' fields. */
const CSV_COLUMNS: (keyof IndicatorRow)[] = [
  'indicator',
  'organisation',
  'service',
  'period',
  'start',
  'numerator',
  'denominator',
  'value',
  'target',
  'released',
  'reAsked',
  'reuseRate',
];

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function indicatorsCsv(rows: IndicatorRow[]): string {
  const lines = [
    CSV_COLUMNS.join(','),
    ...rows.map((row) => CSV_COLUMNS.map((c) => csvField(row[c])).join(',')),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

@ApiTags('indicators')
@Controller('v1/indicators')
export class IndicatorsController {
  constructor(private readonly indicators: IndicatorsService) {}

  /**
   * Open data: I2 and I3 per period (month unless asked), for the whole
   * administration and each organisation, or for the one organisation or
   * service asked; CSV with `?format=csv` (or `Accept: text/csv`), same columns.
   */
  @Get()
  @ApiOperation({ summary: 'Indicators I2 and I3 per organisation and period (JSON or CSV)' })
  async list(
    @Query() query: IndicatorsQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() response: FastifyReply,
  ): Promise<void> {
    const rows = await this.indicators.compute({
      period: query.period ?? 'month',
      organisation: query.organisation,
      service: query.service,
    });
    response.header('link', `<${DEFINITIONS_PATH}>; rel="describedby"`);
    const csv = query.format === 'csv' || (!query.format && /\btext\/csv\b/.test(accept ?? ''));
    if (csv) {
      response.type('text/csv; charset=utf-8').send(indicatorsCsv(rows));
      return;
    }
    response.send({ definitions: DEFINITIONS_PATH, indicators: rows });
  }

  @Get('definitions')
  @ApiOperation({ summary: 'What each indicator counts, in French and English' })
  definitions(): typeof DEFINITIONS {
    return DEFINITIONS;
  }
}
