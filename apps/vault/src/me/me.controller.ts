import { Body, Controller, Delete, Get, Header, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AttributesService, type Citizen, CitizensService } from '#libs/vault';
import { type CitizenIdentity } from '#libs/identity';
import { CurrentCitizen, CurrentIdentity, FindsCitizenItself } from '../auth/citizen-auth.guard.js';
import { CitizenDataService } from './citizen-data.service.js';
import { PreferencesDto } from './dto/preferences.dto.js';
import { SetAttributeDto } from './dto/set-attribute.dto.js';

@ApiTags('citizen profile')
@ApiBearerAuth()
@Controller('v1/me')
export class MeController {
  constructor(
    private readonly data: CitizenDataService,
    private readonly attributes: AttributesService,
    private readonly citizens: CitizensService,
  ) {}

  /** What the administration holds about the citizen, and where each value came from. */
  @Get()
  @FindsCitizenItself()
  profile(@CurrentIdentity() identity: CitizenIdentity) {
    return this.data.profile(identity);
  }

  /** Self-declared attributes only (contact details); others come from their official source. */
  @Put('attributes/:attribute')
  declare(
    @CurrentCitizen() citizen: Citizen,
    @Param('attribute') attribute: string,
    @Body() body: SetAttributeDto,
  ) {
    return this.data.declare(citizen, attribute, body.value);
  }

  /** Every value each attribute has had, with who wrote it and when (for rectification). */
  @Get('attributes/history')
  history(@CurrentCitizen() citizen: Citizen) {
    return this.attributes.history(citizen.id);
  }

  @Get('preferences')
  preferences(@CurrentCitizen() citizen: Citizen) {
    return this.citizens.preferences(citizen);
  }

  @Put('preferences')
  updatePreferences(@CurrentCitizen() citizen: Citizen, @Body() body: PreferencesDto) {
    return this.data.updatePreferences(citizen, {
      language: body.language,
      channels: { email: body.channels.email, sms: body.channels.sms, portal: body.channels.portal },
      quietHours: { start: body.quietHours.start, end: body.quietHours.end },
    });
  }

  @Get('export')
  @Header('content-disposition', 'attachment; filename="une-fois-export.json"')
  export(@CurrentCitizen() citizen: Citizen) {
    return this.data.export(citizen);
  }

  @Delete()
  erase(@CurrentCitizen() citizen: Citizen) {
    return this.data.erase(citizen);
  }
}
