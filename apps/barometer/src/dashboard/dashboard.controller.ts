import { Controller, Get, Header, Query } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import type { Language } from '../indicators/definitions.js';
import { IndicatorsService, type Period, PERIODS } from '../indicators/indicators.service.js';
import { GOV_CSS, HTML_TYPE, strictCsp } from '#libs/web';
import { DASHBOARD_CSS, dashboardPage } from './dashboard-page.js';

export class DashboardQueryDto {
  @IsOptional() @IsIn(['fr', 'en']) lang?: Language;
  @IsOptional() @IsIn(PERIODS) period?: Period;
  /** Empty: the whole administration (the form's first choice). */
  @IsOptional()
  @Matches(/^[A-Za-z0-9._-]{0,100}$/, { message: 'must be an organisation id' })
  organisation?: string;
}

/** Nothing from elsewhere, no script; its one form is a GET to itself. */
const CSP = strictCsp();

@ApiExcludeController()
@Controller()
export class DashboardController {
  constructor(private readonly indicators: IndicatorsService) {}

  @Get()
  @Header('content-type', HTML_TYPE)
  @Header('content-security-policy', CSP)
  @Header('x-content-type-options', 'nosniff')
  async page(@Query() query: DashboardQueryDto): Promise<string> {
    const organisation = query.organisation || null;
    const period = query.period ?? 'month';
    const [rows, organisations] = await Promise.all([
      this.indicators.compute({ period, ...(organisation && { organisation }) }),
      this.indicators.organisations(),
    ]);
    return dashboardPage({ lang: query.lang ?? 'fr', period, organisation, organisations, rows });
  }

  @Get('assets/gov.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=3600')
  govStylesheet(): string {
    return GOV_CSS;
  }

  @Get('assets/dashboard.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=3600')
  stylesheet(): string {
    return DASHBOARD_CSS;
  }
}
